"""The SDK's one private cattrs converter: API JSON to models and back.

The API's conventions live here, as hook factories and type hooks rather than a hook
per class: ``"T"``/``"F"`` booleans, unix-second ``*_ts`` fields as aware UTC datetimes,
``YYYY-MM-DD`` dates, ``YYYY-MM-DD hh:mm:ss`` wall-clock datetimes, ``album_id`` as int or
string, absent-or-null optional fields, ``NOT_GIVEN`` left out of requests, and unknown
response fields ignored (RunSignup adds fields over time).

Structuring runs a fast converter first (generated code, no detailed validation, no
validators on response models). Only when that fails does an identically configured
converter with detailed validation run again, to name the failing field in a
``ShapeError`` such as ``photos[3].original.image_url: expected a string, got null``.
"""

from __future__ import annotations

import typing
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
    int_tuple,
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
        super().__init__(f"unexpected response shape at {path}: {problem}{suffix}")


# --- hooks ---------------------------------------------------------------------------------


def _detailed_int_tuple(converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
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


def _field_hooks(cls: Any, converter: cattrs.Converter, detailed: bool) -> dict[str, Any]:
    """The conventions that depend on a field's name rather than its type."""
    hooks: dict[str, Any] = {}
    for field in attrs.fields(cls):
        if field.name.endswith("_ts"):
            optional = field.default is None
            hooks[field.name] = optional_unix_time if optional else unix_time
        elif field.name == "album_id":
            hooks[field.name] = int_or_str
        elif field.type == tuple[int, ...]:
            if detailed:  # as int_tuple, but the tuple hook names the bad index
                hooks[field.name] = _detailed_int_tuple(converter)
            else:
                hooks[field.name] = int_tuple
    return hooks


_INLINE_CHECKS: Final[dict[Any, str]] = {
    int: "{v}.__class__ is not int",
    str: "{v}.__class__ is not str",
    int | None: "{v} is not None and {v}.__class__ is not int",
    str | None: "{v} is not None and {v}.__class__ is not str",
}


def _fast_structure_fn(cls: Any, converter: cattrs.Converter) -> Callable[[Any, Any], Any]:
    """A structure function for a response model, with primitive checks inlined.

    cattrs' generated code calls a Python hook per field and keeps optional fields in a
    dict; inlining the exact-type checks halves the cost of a photo. Failures raise a bare
    ``_Misfit``: the detailed converter, whose hooks accept exactly the same documents,
    then explains them.
    """
    hooks = _field_hooks(cls, converter, detailed=False)
    namespace: dict[str, Any] = {"__cl": cls, "_Misfit": _Misfit}
    lines = [f"def structure_{cls.__name__}(o, _):"]
    arguments = []
    for index, field in enumerate(attrs.fields(cls)):
        name, v = field.name, f"v{index}"
        required = field.default is attrs.NOTHING
        lines.append(f"  {v} = o[{name!r}]" if required else f"  {v} = o.get({name!r})")
        hook = hooks.get(name)
        if hook is None and field.type not in _INLINE_CHECKS:
            target = field.type
            if not required:  # X | None: absent and null are None; X's own hook otherwise
                target = next(t for t in typing.get_args(target) if t is not type(None))
            hook = converter.get_structure_hook(target)
            if not required:
                hook = _none_or(hook)
        if hook is not None:
            namespace[f"h{index}"] = hook
            lines.append(f"  {v} = h{index}({v}, None)")
        else:
            lines.append(f"  if {_INLINE_CHECKS[field.type].format(v=v)}: raise _Misfit")
        arguments.append(f"{name}={v}")
    lines.append(f"  return __cl({', '.join(arguments)})")
    exec(
        compile("\n".join(lines), f"<runsignup_async structure {cls.__name__}>", "exec"), namespace
    )
    function: Callable[[Any, Any], Any] = namespace[f"structure_{cls.__name__}"]
    return function


class _Misfit(TypeError):
    """Raised by the fast path; never escapes ``structure``."""


def _none_or(hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    return lambda value, _: None if value is None else hook(value, None)


def _structure_factory(converter: cattrs.Converter, detailed: bool) -> Callable[[Any], Any]:
    def factory(cls: Any) -> Any:
        attrs.resolve_types(cls)
        if not detailed:
            return _fast_structure_fn(cls, converter)
        overrides: dict[str, Any] = {
            name: override(struct_hook=hook)
            for name, hook in _field_hooks(cls, converter, detailed=True).items()
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


def _make_converter(detailed: bool) -> cattrs.Converter:
    converter = cattrs.Converter(detailed_validation=detailed)
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
    converter.register_structure_hook_factory(
        _is_response_model, _structure_factory(converter, detailed)
    )
    converter.register_unstructure_hook_factory(attrs.has, _unstructure_factory(converter))
    return converter


_FAST: Final = _make_converter(detailed=False)
_DETAILED: Final = _make_converter(detailed=True)


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


def _structure_as(obj: Any, cls: type[T], hook: Callable[[Any, Any], Any], path: str) -> T:
    try:
        result: T = hook(obj, cls)
    except ValidationError:
        raise
    except Exception as fast_failure:  # whatever the generated code tripped on
        try:
            _DETAILED.structure(obj, cls)
        except ValidationError:
            raise
        except Exception as detailed:
            raise _shape_error(detailed, path) from None
        raise ShapeError(path or "$", str(fast_failure)) from None  # pragma: no cover
    return result


def structure(obj: Any, cls: type[T], *, path: str = "") -> T:
    """``obj`` (decoded JSON) as ``cls``.

    A response model that does not fit raises ``ShapeError`` naming the field; a request
    model raises ``ValidationError`` from its own checks. ``path`` prefixes error paths.
    """
    return _structure_as(obj, cls, _FAST.get_structure_hook(cls), path)


def unstructure(instance: Any) -> Any:
    """The JSON value of a model (or a list of them), in the API's conventions."""
    return _FAST.unstructure(instance)
