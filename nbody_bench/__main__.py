"""`python -m nbody_bench`: the `nbody-bench` command."""

import sys

from .cli import main

sys.exit(main())
