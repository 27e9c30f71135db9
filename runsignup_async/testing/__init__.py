"""An embedded fake RunSignup server for tests, benchmarks and demos.

``FakeRunSignup`` serves the five endpoints this SDK covers from deterministic in-memory
data over real loopback HTTP, checks credentials and parameters like the real API, and
can throttle and misbehave on demand (``Fault``, ``Throttle``). The ``runsignup_fake``
pytest fixture (``runsignup_async.testing.pytest_plugin``) yields a started one.
"""

from ._app import FakeRunSignup
from ._auth_check import FakeCredentials
from ._data import FakeData, RaceDayIds
from ._faults import Fault, FaultPlan, FaultRule
from ._images import image_bytes
from ._serve import run_server, serve
from ._state import CredentialLeak, ProcessedPost
from ._throttle import Throttle

__all__ = [
    "CredentialLeak",
    "FakeCredentials",
    "FakeData",
    "FakeRunSignup",
    "Fault",
    "FaultPlan",
    "FaultRule",
    "ProcessedPost",
    "RaceDayIds",
    "Throttle",
    "image_bytes",
    "run_server",
    "serve",
]
