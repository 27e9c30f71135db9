"""Typed models of what the SDK sends to and reads from RunSignup.

Attribute names are the API's own field names, so RunSignup's pages double as reference.
Request models (``Activity``, ``TeamType``, ``Race``, ``Address``, ``Event``) validate on
construction and raise ``ValidationError``; their optional fields default to
``NOT_GIVEN`` (left out of the request), while ``None`` is sent as ``null``. Response
models (``Album``, ``Photo``, ``PhotoImage``, ``RaceResult``) use ``None`` for absent.
"""

from ._sentinel import NOT_GIVEN, NotGiven
from .activities import Activity
from .photos import Album, Photo, PhotoImage
from .races import Address, Event, Race, RaceResult
from .teams import TeamType

__all__ = [
    "NOT_GIVEN",
    "Activity",
    "Address",
    "Album",
    "Event",
    "NotGiven",
    "Photo",
    "PhotoImage",
    "Race",
    "RaceResult",
    "TeamType",
]
