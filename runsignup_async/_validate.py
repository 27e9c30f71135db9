"""The checks every settings object shares: a bad value is a ``ValidationError`` naming
``Class.field`` and the range it accepts, raised while the object is built.

``RetryPolicy``, ``RateLimit``, ``Client`` and the auth classes all check their arguments
through these, so each says what is wrong the same way. Checks of text never echo the
value: it may be a secret.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import attrs

from .errors import ValidationError

__all__ = ["check_number", "non_empty_text", "number", "plain_bool"]

_Validator = Callable[[Any, "attrs.Attribute[Any]", Any], None]


def check_number(
    field: str, value: object, *, minimum: float, whole: bool = False, inclusive: bool = True
) -> None:
    """Refuse ``value`` unless it is a number (``whole``: an int) >= or > ``minimum``."""
    kind = "a whole number" if whole else "a number"
    bound = f"{'>=' if inclusive else '>'} {minimum:g}"
    wanted = int if whole else (int, float)
    if (
        isinstance(value, bool)
        or not isinstance(value, wanted)
        or (isinstance(value, float) and math.isnan(value))
        or not (value >= minimum if inclusive else value > minimum)
    ):
        raise ValidationError(field, f"must be {kind} {bound}, got {value!r}")


def _name(instance: object, attribute: attrs.Attribute[Any]) -> str:
    return f"{type(instance).__name__}.{attribute.name}"


def number(minimum: float, *, whole: bool = False, inclusive: bool = True) -> _Validator:
    """An attrs validator over ``check_number``."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        check_number(
            _name(instance, attribute), value, minimum=minimum, whole=whole, inclusive=inclusive
        )

    return check


def plain_bool(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bool):
        raise ValidationError(_name(instance, attribute), f"must be True or False, got {value!r}")


def non_empty_text(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value:
        # Deliberately does not echo the value: it may be a secret.
        raise ValidationError(_name(instance, attribute), "must be a non-empty string")
