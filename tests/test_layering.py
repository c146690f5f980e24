"""The layering table of tests/layering.py holds for the whole source, no two modules import
each other (directly or round a longer loop), and the checker catches what it is for."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.layering import LAYERS, PACKAGES, cycles, layer_violations, module_name, unit_of

ROOT = Path(__file__).resolve().parent.parent


def test_every_import_is_one_the_layering_table_allows():
    assert layer_violations(ROOT) == []


def test_no_module_imports_itself_round_a_loop():
    assert cycles(ROOT) == []


def test_every_package_of_the_source_has_a_row_in_the_table():
    units = {
        unit_of(module_name(ROOT, p), ROOT) for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")
    }
    assert units - set(LAYERS) == set()
    assert {"orchestrator.core", "orchestrator.storage", "workers.mlp"} <= units  # it sees them


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the source (Python files only) to plant violations in."""
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            target = tmp_path / path.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
    return tmp_path


def planted_violations(tree: Path, plant: Callable[[], None]) -> list[str]:
    """The violations `plant` adds to the copy (whatever the copy had before stays out)."""
    before = set(layer_violations(tree))
    plant()
    return [v for v in layer_violations(tree) if v not in before]


def planted_cycles(tree: Path, plant: Callable[[], None]) -> list[list[str]]:
    before = cycles(tree)
    plant()
    return [c for c in cycles(tree) if c not in before]


def _append(path: Path, code: str) -> None:
    path.write_text(path.read_text() + "\n\n" + code + "\n")


def test_a_worker_importing_the_driver_inside_a_function_is_caught(tree):
    host = tree / "workers" / "host.py"
    found = planted_violations(
        tree, lambda: _append(host, "def _sneak():\n    from orchestrator.core import loop")
    )
    assert len(found) == 1
    assert found[0].startswith("workers.host:") and "(workers -> orchestrator.core)" in found[0]


def test_the_results_importing_the_report_is_caught(tree):
    run = tree / "orchestrator" / "results" / "run.py"
    found = planted_violations(tree, lambda: _append(run, "from orchestrator.report import plots"))
    assert found == [
        f"orchestrator.results.run:{_last_line(tree / 'orchestrator/results/run.py')} imports "
        "orchestrator.report.plots (orchestrator.results -> orchestrator.report)"
    ]


def test_yaml_outside_the_sweep_file_package_is_caught_but_type_only_imports_are_not(tree):
    core = tree / "orchestrator" / "core" / "spec.py"

    def plant() -> None:
        _append(core, "def _dump():\n    import yaml")
        _append(core, "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import matplotlib")

    found = planted_violations(tree, plant)
    assert [f.split(" ", 1)[1] for f in found] == ["imports yaml (orchestrator.core may not)"]


def test_a_cycle_held_apart_by_a_function_level_import_is_caught(tree):
    spec = tree / "orchestrator" / "core" / "spec.py"
    found = planted_cycles(
        tree, lambda: _append(spec, "def _back():\n    import orchestrator.core.loop")
    )
    # the loop reaches the spec through the budget, the planner and the status too: one
    # cycle of five
    core = ["orchestrator.core.budget", "orchestrator.core.loop", "orchestrator.core.planner"]
    assert found == [[*core, "orchestrator.core.spec", "orchestrator.core.status"]]


def test_a_longer_loop_is_caught_as_one_cycle(tree):
    pkg = tree / "caviar_common"

    def plant() -> None:
        (pkg / "a.py").write_text("from caviar_common import b\n")
        (pkg / "b.py").write_text("def f():\n    from caviar_common.c import x\n")
        (pkg / "c.py").write_text("import caviar_common.a\nx = 1\n")

    assert planted_cycles(tree, plant) == [
        ["caviar_common.a", "caviar_common.b", "caviar_common.c"]
    ]


def _last_line(path: Path) -> int:
    return len(path.read_text().rstrip("\n").splitlines())


def test_source_that_imports_a_test_helper_is_caught(tree):
    bench = tree / "benchmarks" / "bench_results.py"
    found = planted_violations(tree, lambda: _append(bench, "from tests.conftest import free_port"))
    assert [f.split(" ", 1)[1] for f in found] == ["imports tests.conftest (tests)"]
