"""The SDK's one private cattrs converter: API JSON to models and back.

The API's conventions live here, as hook factories and type hooks rather than a hook
per class: ``"T"``/``"F"`` booleans, unix-second ``*_ts`` fields as aware UTC datetimes,
``YYYY-MM-DD`` dates, ``YYYY-MM-DD hh:mm:ss`` wall-clock datetimes, ``album_id`` as int or
string, absent-or-null optional fields, ``NOT_GIVEN`` left out of requests, and unknown
response fields ignored (RunSignup adds fields over time).

Answers are decoded from bytes by ``_decode`` (msgspec); this converter is its second
opinion when that fails: with detailed validation it names every failing field in a
``ShapeError`` such as ``$.photos[3].original.image_url: expected a string, got null``.
It also reads request models from JSON (the CLI) and writes every model back out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any, Final, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from .errors import ValidationError
from .models import NOT_GIVEN, Activity, Address, Event, Race, TeamType
from .models._common import (
    API_DATETIME_FORMAT,
    build_all,
    describe,
    int_or_str,
    number,
    optional_unix_time,
    parse_bool,
    parse_date,
    parse_local_datetime,
    strict,
    to_unix,
    unix_time,
)

__all__ = [
    "ShapeError",
    "structure",
    "unstructure",
]

T = TypeVar("T")


class ShapeError(ValueError):
    """A response document does not have the shape the SDK expects.

    ``path`` locates the first problem (``photos[3].original.image_url``; ``$`` is the
    whole document) and ``problems`` lists every ``(path, problem)`` found.
    """

    def __init__(self, path: str, problem: str, *, more: Iterable[tuple[str, str]] = ()) -> None:
        self.path = path
        self.problem = problem
        self.problems: tuple[tuple[str, str], ...] = ((path, problem), *more)
        extra = len(self.problems) - 1
        suffix = f" (and {extra} more problem{'s' * (extra > 1)})" if extra else ""
        super().__init__(f"unexpected response shape at {self.json_path}: {problem}{suffix}")

    @property
    def json_path(self) -> str:
        """``path`` as a JSONPath: ``$.photos[3].photo_id``, ``$`` for the whole document."""
        if self.path == "$" or self.path.startswith(("$.", "$[")):
            return self.path
        return "$" + ("" if self.path.startswith("[") else ".") + self.path


# --- hooks ---------------------------------------------------------------------------------


def _int_tuple(converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    items = converter.get_structure_hook(tuple[int, ...])

    def hook(value: Any, target: Any) -> tuple[int, ...]:
        if value is None:
            return ()
        if value.__class__ is not list:
            raise TypeError(f"expected a list of integers, got {describe(value)}")
        result: tuple[int, ...] = items(value, target)
        return result

    return hook


_REQUEST_MODELS: Final = frozenset({Activity, Address, Event, Race, TeamType})


def _is_response_model(cls: Any) -> bool:
    return attrs.has(cls) and cls not in _REQUEST_MODELS


def _structure_request(value: Any, cls: type[T]) -> T:
    # Request models validate in their constructors; reuse that, with dotted field paths.
    try:
        models: tuple[T, ...] = build_all(cls, [value])
    except ValidationError as error:
        field = error.field.removeprefix("[0]").lstrip(".")
        raise ValidationError(field or "$", error.problem) from None
    return models[0]


def _field_hooks(cls: Any, converter: cattrs.Converter) -> dict[str, Any]:
    """The conventions that depend on a field's name rather than its type."""
    hooks: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name.endswith("_ts"):
            optional = field.default is None
            hooks[field.name] = optional_unix_time if optional else unix_time
        elif field.name == "album_id":
            hooks[field.name] = int_or_str
        elif field.type == tuple[int, ...]:
            hooks[field.name] = _int_tuple(converter)
    return hooks


def _structure_factory(converter: cattrs.Converter) -> Callable[[Any], Any]:
    def factory(cls: Any) -> Any:
        attrs.resolve_types(cls)
        overrides: dict[str, Any] = {
            name: override(struct_hook=hook) for name, hook in _field_hooks(cls, converter).items()
        }
        generated = make_dict_structure_fn(
            cls, converter, _cattrs_forbid_extra_keys=False, **overrides
        )

        def checked(value: Any, target: Any) -> Any:
            if not isinstance(value, Mapping):
                raise TypeError(f"expected an object, got {describe(value)}")
            return generated(value, target)

        return checked

    return factory


def _unstructure_factory(converter: cattrs.Converter) -> Callable[[Any], Any]:
    def factory(cls: Any) -> Any:
        overrides: dict[str, Any] = {}
        for field in attrs.fields(cls):
            # Omit NOT_GIVEN (request) and None (response) defaults, never other defaults:
            # an empty bibs list is data.
            omit = field.default is None or field.default is NOT_GIVEN
            hook = to_unix if field.name.endswith("_ts") else None
            overrides[field.name] = override(omit_if_default=omit, unstruct_hook=hook)
        return make_dict_unstructure_fn(cls, converter, **overrides)

    return factory


def _make_converter() -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=True)
    converter.register_structure_hook(int, strict(int, "an integer"))
    converter.register_structure_hook(str, strict(str, "a string"))
    converter.register_structure_hook(float, number)
    converter.register_structure_hook(bool, lambda value, _: parse_bool(value))
    converter.register_structure_hook(date, lambda value, _: parse_date(value))
    converter.register_structure_hook(datetime, lambda value, _: parse_local_datetime(value))
    converter.register_unstructure_hook(bool, lambda value: "T" if value else "F")
    converter.register_unstructure_hook(date, date.isoformat)
    converter.register_unstructure_hook(datetime, lambda value: value.strftime(API_DATETIME_FORMAT))
    converter.register_unstructure_hook(tuple, list)
    converter.register_structure_hook_factory(
        lambda cls: cls in _REQUEST_MODELS, lambda cls: _structure_request
    )
    converter.register_structure_hook_factory(_is_response_model, _structure_factory(converter))
    converter.register_unstructure_hook_factory(attrs.has, _unstructure_factory(converter))
    return converter


_CONVERTER: Final = _make_converter()


def _exception_text(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, KeyError):
        return "required field missing"
    return str(exc) or type(exc).__name__


def _shape_error(exc: Exception, path: str) -> ShapeError:
    found = []
    for line in cattrs.transform_error(exc, path=path, format_exception=_exception_text):
        problem, _, where = line.rpartition(" @ ")
        found.append(((where.lstrip(".") or "$"), problem))
    return ShapeError(found[0][0], found[0][1], more=found[1:])


def structure(obj: Any, cls: type[T], *, path: str = "") -> T:
    """``obj`` (decoded JSON) as ``cls``.

    A response model that does not fit raises ``ShapeError`` naming every bad field; a
    request model raises ``ValidationError`` from its own checks. ``path`` prefixes error
    paths. Answers are read by ``_decode`` (msgspec); this is its detailed second opinion.
    """
    try:
        result: T = _CONVERTER.structure(obj, cls)
    except ValidationError:
        raise
    except Exception as failure:  # whatever cattrs collected: a tree of exceptions
        raise _shape_error(failure, path) from None
    return result


def unstructure(instance: Any) -> Any:
    """The JSON value of a model (or a list of them), in the API's conventions."""
    return _CONVERTER.unstructure(instance)
