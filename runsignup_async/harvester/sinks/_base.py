"""The one interface every harvest destination implements, and what flows through it.

The harvest (``run``) decides what to fetch and streams each image from the image host;
a sink decides how a whole image is kept and how the record of what is kept survives a
crash. Two implement it: ``DirectorySink`` (a local directory with its SQLite manifest)
and ``S3Sink`` (a bucket, through obstore, with one manifest object per race day).

What every sink promises:

- ``save`` keeps an image only whole: under its final name once every byte arrived and
  matched Content-Length, never partly. A cancelled or failed save leaves nothing that a
  later run takes for done.
- ``stored`` answers from the sink's own record and state, without an image request, and
  only by one rule (``is_current``): the sink recorded the file whole, from the image the
  listing names now (``image_identity``), and it is still there at the size recorded. A
  file or object the record does not claim (a killed run's last saves) is fetched again:
  the API gives no byte count or hash that could vouch for it.
- ``race_day_done`` is told once per race day, as soon as its listing and downloads have
  ended: the sink records the day then (so a long run's finished race days can be read
  while it goes on) and forgets it; it moves the ``--since-last`` mark only when
  ``whole`` is true.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING

import attrs

from ..._redact import redact_url
from ...errors import DownloadError

if TYPE_CHECKING:
    from ...models import Photo

__all__ = ["Body", "FileRef", "Sink", "image_identity", "is_current"]


def image_identity(url: str, width: int, height: int) -> str:
    """What the listing says about one image: its URL's path and its dimensions. A new
    upload gets a new file name on RunSignup's image hosts, an edit new dimensions: either
    is fetched again. Not the query (a pre-signed URL's signature changes with every
    listing, the image does not), nor the host (images move between hosts and CDNs, and
    the fake's image host gets a new port each time it starts)."""
    # By hand, not urlsplit: this runs for every file listed, and urlsplit costs several
    # times as much for the same answer on an absolute http(s) URL.
    rest = url.split("?", 1)[0].split("#", 1)[0]
    scheme_end = rest.find("://")
    if scheme_end >= 0:
        slash = rest.find("/", scheme_end + 3)
        rest = rest[slash:] if slash >= 0 else ""
    return f"{rest} {width}x{height}"


def is_current(
    ref: FileRef, recorded: tuple[str, str | None, int | None], found: int | None
) -> bool:
    """The rule both sinks skip a file by: ``recorded`` (key, image, bytes) as the sink
    recorded it done, ``found`` the size it has now (None: not there)."""
    key, image, nbytes = recorded
    return key == ref.key and image == ref.image and nbytes is not None and found == nbytes


@attrs.frozen
class FileRef:
    """One size of one photo: where it lands (``key``, '/'-separated) and where it is from."""

    race_id: int
    race_event_days_id: int
    photo_id: int
    size: str
    key: str
    url: str
    image: str  # image_identity(): what the listing says the image is


class Body:
    """An image's bytes as they arrive, counted and hashed; ends in ``DownloadError`` when
    their count does not match the Content-Length the image host announced."""

    def __init__(self, chunks: AsyncIterator[bytes], expected: int | None, url: str) -> None:
        self._chunks = chunks
        self.expected = expected
        self._url = url
        self.nbytes = 0
        self._digest = hashlib.sha256()  # hashlib releases the GIL on large buffers

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._read()

    async def _read(self) -> AsyncIterator[bytes]:
        expected = self.expected
        async for chunk in self._chunks:
            self.nbytes += len(chunk)
            if expected is not None and self.nbytes > expected:
                break
            self._digest.update(chunk)
            yield chunk
        if expected is not None and self.nbytes != expected:
            raise DownloadError(
                f"image arrived with {self.nbytes} bytes, Content-Length said {expected}",
                method="GET",
                url=redact_url(self._url),
            )

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


class Sink(abc.ABC):
    """Where a harvest keeps images and its record of them. Use as ``async with sink:``;
    entering checks the destination (one-line error before any image is fetched)."""

    #: The destination as the user wrote it, for messages.
    location: str

    async def __aenter__(self) -> Sink:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close(interrupted=exc is not None)

    @abc.abstractmethod
    async def open(self) -> None:
        """Take the destination (lock, access check, manifest)."""

    @abc.abstractmethod
    async def close(self, *, interrupted: bool) -> None:
        """Make durable and record what was saved, even when the run was interrupted."""

    async def run(self) -> None:
        """Background work for the length of the harvest, until cancelled (none by default).

        A failure ends the harvest with it."""
        return

    @abc.abstractmethod
    async def high_water(self, race_id: int, race_event_days_id: int) -> datetime | None:
        """The newest upload of the race day when it last completed whole, for --since-last."""

    @abc.abstractmethod
    async def stored(self, photo: Photo, files: Sequence[FileRef]) -> set[str]:
        """The sizes among ``files`` already stored whole and current: not fetched again."""

    @abc.abstractmethod
    def record_photo(self, race_id: int, photo: Photo) -> None:
        """A listed photo's metadata (its bibs feed the bib index)."""

    def record_missing(self, race_id: int, photo: Photo, size: str) -> None:
        """A size the photo does not offer (recorded, not a failure)."""
        return

    async def checkpoint(self) -> None:
        """Make durable and record everything saved so far: a queue worker's job is not
        done before its files are (none to do by default: every save is whole at once)."""
        return

    def forget(self, race_id: int, race_event_days_id: int) -> None:
        """Drop what this sink holds in memory of a race day (a queue worker's job ended
        without finishing it): the next job of that day reads it afresh."""
        return

    def finished(self, *, ok: bool) -> None:
        """The harvest ran to its end; ``ok``: without any failure."""
        return

    @abc.abstractmethod
    def record_failure(self, ref: FileRef, reason: str) -> None:
        """One size of one photo could not be saved in this run."""

    @abc.abstractmethod
    async def save(self, ref: FileRef, body: Body) -> None:
        """Stream ``body`` to ``ref.key``: kept whole or not at all (see the module doc)."""

    @abc.abstractmethod
    async def race_day_done(
        self, race_id: int, race_event_days_id: int, newest: datetime | None, *, whole: bool
    ) -> None:
        """Every photo of the race day was listed and every download of it has ended."""
