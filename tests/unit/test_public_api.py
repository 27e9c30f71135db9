"""``import runsignup_async`` exposes exactly a sorted ``__all__``, and nothing is defined there."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

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


def test_every_exported_name_is_the_object_its_module_defines() -> None:
    for name in runsignup_async.__all__:
        value = getattr(runsignup_async, name)
        if inspect.isclass(value) or inspect.isfunction(value):
            home = importlib.import_module(value.__module__)
            assert getattr(home, value.__qualname__) is value, name
            assert value.__name__ == name, f"{name} is exported under another name"


def _package_exceptions() -> set[type[BaseException]]:
    """Every RunSignupError subclass defined anywhere in the package (testing/ included)."""
    for module in pkgutil.walk_packages(runsignup_async.__path__, "runsignup_async."):
        if not module.name.endswith("__main__"):  # that one runs the CLI
            importlib.import_module(module.name)
    found: set[type[BaseException]] = set()
    todo: list[type[BaseException]] = [runsignup_async.RunSignupError]
    while todo:
        cls = todo.pop()
        if cls.__module__.startswith("runsignup_async") and cls not in found:
            found.add(cls)
            todo.extend(cls.__subclasses__())
    return found


def test_every_exception_of_the_package_is_exported_and_drawn_in_the_tree() -> None:
    from runsignup_async import errors

    tree = (errors.__doc__ or "").split("The tree::", 1)[1]
    drawn = set(re.findall(r"[├└]── (\w+)", tree))
    for cls in _package_exceptions():
        assert getattr(runsignup_async, cls.__name__, None) is cls, f"{cls.__name__} not exported"
        assert cls.__name__ in errors.__all__, f"{cls.__name__} not in errors.__all__"
        if cls is not runsignup_async.RunSignupError:
            assert cls.__name__ in drawn, f"{cls.__name__} not drawn in the tree"


def test_the_tree_draws_each_exception_under_its_base() -> None:
    from runsignup_async import errors

    tree = (errors.__doc__ or "").split("The tree::", 1)[1]
    parents: list[str] = ["RunSignupError"]
    for line in tree.splitlines():
        match = re.match(r"\s*([│ ]*)[├└]── (\w+)", line)
        if not match:
            continue
        depth = len(match.group(1)) // 4
        del parents[depth + 1 :]
        cls = getattr(errors, match.group(2))
        assert parents[depth] in [base.__name__ for base in cls.__bases__], match.group(2)
        parents.append(match.group(2))


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
