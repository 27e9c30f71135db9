"""The ``NOT_GIVEN`` sentinel: "leave this field out of the request".

Request models need three states per optional field: a value, ``None`` (sent as JSON
``null``, which on a race edit *clears* the field), and absent (not sent at all). ``None``
cannot mean both, so absent is this falsy singleton, as in openai-python.
"""

from __future__ import annotations

from typing import Any, Final, Literal

__all__ = ["NOT_GIVEN", "NotGiven"]


class NotGiven:
    """Type of ``NOT_GIVEN``; there is only ever one instance."""

    __slots__ = ()
    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        # One instance, so ``is NOT_GIVEN`` holds even after copy or unpickling.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> tuple[type[NotGiven], tuple[Any, ...]]:
        return (NotGiven, ())


NOT_GIVEN: Final = NotGiven()
