"""``import runsignup_async`` exposes exactly a sorted ``__all__``, and nothing is defined there."""

from __future__ import annotations

import inspect

import runsignup_async


def test_all_is_sorted_and_unique() -> None:
    names = runsignup_async.__all__
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_all_matches_the_public_names_of_the_module() -> None:
    public = {
        name
        for name, value in vars(runsignup_async).items()
        if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public | {"__version__"} == set(runsignup_async.__all__)


def test_every_exported_name_resolves() -> None:
    for name in runsignup_async.__all__:
        assert getattr(runsignup_async, name) is not None


def test_nothing_is_defined_in_the_package_root() -> None:
    for name in runsignup_async.__all__:
        value = getattr(runsignup_async, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert value.__module__ != "runsignup_async", name


def test_errors_module_docstring_draws_every_exception() -> None:
    from runsignup_async import errors

    doc = errors.__doc__ or ""
    for name in errors.__all__:
        assert name in doc, name
