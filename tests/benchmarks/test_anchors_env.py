"""The anchors' code runs in an environment of its own: what the child imports is the
standard library, its own package and the anchors' libraries, nothing of the project; and a
missing environment skips the anchors with the command that makes it (unless strict)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from benchmarks.tuning import anchor_runs
from benchmarks.tuning.methods import REFERENCE, Settings
from benchmarks.tuning.pair import run_pair
from tests.layering import imports, module_name

ROOT = Path(__file__).resolve().parents[2]
ANCHOR_LIBRARIES = {"syne_tune", "dehb", "ConfigSpace", "numpy"}


def test_the_anchor_package_imports_only_the_standard_library_itself_and_the_anchor_libraries():
    files = [ROOT / "benchmarks" / "__init__.py", *(ROOT / "benchmarks" / "anchors").glob("*.py")]
    known = {module_name(ROOT, p) for p in files}
    found = {imp.target for path in files for imp in imports(ROOT, path, known)}
    outside = {
        target
        for target in found
        if target.split(".")[0] not in sys.stdlib_module_names | ANCHOR_LIBRARIES
        and not target.startswith("benchmarks.anchors")
    }
    assert outside == set()
    assert {"syne_tune.optimizer", "dehb", "benchmarks.anchors.clock"} <= found  # it sees them


def test_a_missing_environment_skips_the_anchors_with_the_command_that_makes_it(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(anchor_runs, "INSTALLED", tmp_path / ".installed")
    settings = Settings(trials=4, epochs=2)
    pair = run_pair("moons", 0, [REFERENCE, "dehb"], settings)
    assert "skipped" not in pair["runs"][REFERENCE]
    assert pair["runs"]["dehb"] == {
        "skipped": "the anchors' environment .venv-anchors is missing; create it with "
        "`make .venv-anchors/.installed` (about 30 s, 0.5 GB: Syne Tune, DEHB and what they "
        "import)"
    }
    strict = Settings(trials=4, epochs=2, strict=True)  # --smoke: a failing method fails it
    with pytest.raises(anchor_runs.AnchorsMissing, match="make .venv-anchors/.installed"):
        run_pair("moons", 0, [REFERENCE, "dehb"], strict)
