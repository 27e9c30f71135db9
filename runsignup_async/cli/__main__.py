"""``python -m runsignup_async.cli``: the same as the ``runsignup-async`` command."""

import sys

from . import main

sys.exit(main())
