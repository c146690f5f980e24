"""Writing a sweep file: the YAML a submitted job's working directory carries."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


def write_sweep(raw: Mapping[str, Any], path: Path) -> None:
    """Write the sweep file `raw` (as read, perhaps edited) to `path`, keys in their order."""
    path.write_text(yaml.safe_dump(dict(raw), sort_keys=False))
