"""pytest plugin (entry point ``pytest11``): the ``runsignup_fake`` fixture.

pytest loads this module in every session wherever runsignup-async is installed, so it
imports nothing heavy at import time and works without pytest-asyncio (the fixture then
skips the test, saying why). Options for the fake come from a marker::

    @pytest.mark.runsignup_fake(seed=3, photos_per_race_day=250)
    async def test_something(runsignup_fake): ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._app import FakeRunSignup

try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - exercised only where pytest-asyncio is absent
    HAVE_PYTEST_ASYNCIO = False
else:
    HAVE_PYTEST_ASYNCIO = True


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "runsignup_fake(**options): options for the runsignup_fake fixture"
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("runsignup_fake")
    return dict(marker.kwargs) if marker is not None else {}


if HAVE_PYTEST_ASYNCIO:

    @pytest_asyncio.fixture
    async def runsignup_fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeRunSignup]:
        """A started ``FakeRunSignup`` (closed after the test)."""
        from ._app import FakeRunSignup

        async with FakeRunSignup(**_options(request)) as fake:
            yield fake

else:  # pragma: no cover

    @pytest.fixture
    def runsignup_fake(request: pytest.FixtureRequest) -> FakeRunSignup:
        """Needs pytest-asyncio, which is not installed."""
        pytest.skip("the runsignup_fake fixture needs pytest-asyncio (pip install pytest-asyncio)")
