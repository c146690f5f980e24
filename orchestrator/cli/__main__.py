"""`python -m orchestrator.cli`: the `caviar` command without its console script."""

from __future__ import annotations

import sys

from orchestrator.cli import main

sys.exit(main())
