"""Endpoint namespaces: thin, keyword-only coroutines over ``Client._request``."""

from .activities import Activities
from .photos import Photos
from .races import Races
from .teams import Teams

__all__ = ["Activities", "Photos", "Races", "Teams"]
