"""What the pure core loads at run time: no Ray, no training stack, no YAML and no plotting,
checked in a fresh interpreter (tests/test_layering.py checks the imports as written)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("ray", "workers.mlp.model", "workers.mlp.trainer", "yaml", "matplotlib")
PURE = (
    "orchestrator.core.loop",
    "orchestrator.schedulers",
    "orchestrator.search.space",
    "orchestrator.core.spec",
    "orchestrator.storage.store",
    "caviar_common.states",
    "orchestrator.core.status",
    "orchestrator.core.planner",
    "orchestrator.core.executor",
    "orchestrator.execution.simulated",
)


def _imported_by(module: str) -> set[str]:
    """The modules a fresh interpreter has loaded after `import module`."""
    code = f"import json, sys; import {module}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("module", PURE)
def test_the_pure_core_imports_no_ray_training_yaml_or_plotting(module):
    loaded = _imported_by(module)
    assert module in loaded  # the probe itself works
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m in HEAVY)
    assert heavy == []


def test_the_probe_sees_a_heavy_import_when_there_is_one():
    assert "yaml" in _imported_by("orchestrator.sweepfile.parse")
