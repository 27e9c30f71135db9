"""The bulk photo harvester: ``harvest()`` and what it reports.

See ``run`` for the pipeline, ``layout`` for where images land, ``sinks`` for the two
destinations (a local directory with its SQLite ``manifest``, or an S3 bucket with one
manifest object per race day beside the images).
"""

from .layout import MANIFEST_NAME, SIZES
from .manifest import BibHit, Manifest
from .run import Failure, HarvestEvent, HarvestStats, HarvestSummary, harvest
from .sinks import StoreError
from .sinks.s3 import bucket_bib_hits

__all__ = [
    "MANIFEST_NAME",
    "SIZES",
    "BibHit",
    "Failure",
    "HarvestEvent",
    "HarvestStats",
    "HarvestSummary",
    "Manifest",
    "StoreError",
    "bucket_bib_hits",
    "harvest",
]
