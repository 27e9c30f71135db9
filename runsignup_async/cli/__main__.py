"""``python -m runsignup_async.cli``: the same as the ``runsignup-async`` command."""

from . import console

console()
