"""Harvest workers on a job queue (the ``workers`` extra: SAQ on Redis).

``enqueue_harvest`` queues one job per race day for a destination; any number of
``run_worker`` processes, on any hosts, take them, sharing one key's limits and one
destination; ``follow_harvest`` waits for them and sums them up like a local harvest;
``harvest_status`` shows where every queued harvest stands.
"""

from ._enqueue import DestStatus, QueuedHarvest, enqueue_harvest, follow_harvest, harvest_status
from ._worker import run_worker

__all__ = [
    "DestStatus",
    "QueuedHarvest",
    "enqueue_harvest",
    "follow_harvest",
    "harvest_status",
    "run_worker",
]
