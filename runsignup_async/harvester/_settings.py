"""Tuning of the harvester, in one place (the client's own tuning is in ``_constants``)."""

from __future__ import annotations

from typing import Final

from .._retry import RetryPolicy

# Race days whose photo listings are walked at once (each walk is one page at a time).
LIST_CONCURRENCY: Final = 8
# How an image file is retried (the decisions are the client's retry table for a GET).
# Downloads are not retried by the client, so a dropped connection or a 5xx from the
# image host costs one attempt here. No retry budget: image hosts are not the API.
IMAGE_RETRY: Final = RetryPolicy(max_attempts=3, backoff_initial=0.25, backoff_max=4.0)
# Photos waiting for a download worker, per worker: enough to keep workers busy while a
# listing page is fetched, small enough that memory is flat for millions of photos.
QUEUE_PER_WORKER: Final = 4
# Failures kept in the summary with their reasons; the rest are only counted (all of
# them stay in the manifest).
FAILURES_KEPT: Final = 1000
# Downloaded files made durable together (one syncfs per file system, one fsync per
# directory touched) and then recorded done in one manifest transaction: every
# COMMIT_BATCH files or COMMIT_INTERVAL seconds, whichever comes first. A crash loses the
# records of the batches not yet committed (COMMIT_BACKLOG + 1 at most): those files are
# downloaded again, never claimed without being on disk. 512 rather than 128: a quarter
# of the manifest transactions and fewer directory fsyncs (benchmarks/README.md).
COMMIT_BATCH: Final = 512
COMMIT_INTERVAL: Final = 0.25
# Batches' worth of staged files (written, not yet on disk) before downloads wait for
# the disk: bounds the temporary files a slow disk lets pile up.
COMMIT_BACKLOG: Final = 4
# Bytes of small images held in memory for the committer to write (see ``_commit``)
# before downloads wait for it.
COMMIT_HELD_BYTES: Final = 32 * 1024 * 1024
