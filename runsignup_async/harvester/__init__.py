"""The bulk photo harvester: ``harvest()`` and what it reports.

See ``run`` for the pipeline, ``layout`` for where files land, ``download`` for the
atomic writes and ``manifest`` for the resumable SQLite record under the destination.
"""

from .layout import MANIFEST_NAME, SIZES
from .manifest import BibHit, Manifest
from .run import Failure, HarvestEvent, HarvestStats, HarvestSummary, harvest

__all__ = [
    "MANIFEST_NAME",
    "SIZES",
    "BibHit",
    "Failure",
    "HarvestEvent",
    "HarvestStats",
    "HarvestSummary",
    "Manifest",
    "harvest",
]
