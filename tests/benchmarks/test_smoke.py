"""Every benchmark runs end to end in its smoke mode (tiny sizes, a few seconds each), so a
change that breaks one fails here rather than on the day someone measures. Nothing about
its figures is checked: only that it exits 0 and prints its table.

Each runs as a user runs it, `python -m benchmarks.X --smoke` in a fresh process from the
repository root; the ones that start Ray (through `caviar run` or a child) are marked.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENTRY_POINTS = (
    "bench_worker",
    "bench_sweep",
    "bench_scheduler",
    "bench_results",
    "compare",
    "quality",
    "record_curves",
    "stop_rules",
    "gpu_check",
)


def smoke(module: str) -> str:
    """Run `python -m benchmarks.MODULE --smoke`; its output, once it exited 0."""
    done = subprocess.run(
        [sys.executable, "-m", f"benchmarks.{module}", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, (
        f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    )
    return done.stdout


@pytest.mark.parametrize(
    ("module", "header"),
    [
        ("bench_worker", "numpy s/ep torch s/ep numpy/torch"),
        ("bench_scheduler", "| scheduler | call | trials x epochs | calls | window |"),
        ("bench_results", "| command | now wall s | now CPU s |"),
        ("quality", "| method | regret @25 % epochs | @100 % epochs |"),
        ("record_curves", "wrote "),
        ("stop_rules", "| setting | rule | value judged | mean regret |"),
    ],
)
def test_a_benchmark_without_ray_runs_in_its_smoke_mode(module: str, header: str) -> None:
    assert header in smoke(module)


@pytest.mark.ray
@pytest.mark.parametrize(
    ("module", "header"),
    [
        ("bench_sweep", "| run | runs | process s | startup s | fit phase s |"),
        ("compare", "| run | runs | process s | first epoch s | / Tune default |"),
    ],
)
def test_a_benchmark_that_starts_ray_runs_in_its_smoke_mode(module: str, header: str) -> None:
    out = smoke(module)
    assert header in out
    assert "| Caviar" in out  # a Caviar row was measured, not only the header


@pytest.mark.ray  # with a GPU it runs two sweeps on Ray; without one it says so and ends
def test_the_gpu_check_runs_in_its_smoke_mode_or_says_there_is_no_gpu() -> None:
    torch = pytest.importorskip("torch")
    out = smoke("gpu_check")
    if torch.cuda.is_available():
        assert "| run | trials | epochs | s/epoch (median, range) | wall s |" in out
        assert "| GPU (gpus_per_trial 0.5) |" in out
    else:
        assert "no GPU found" in out


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_every_benchmark_also_runs_as_a_script(module: str) -> None:
    # `python benchmarks/X.py`, as the READMEs say: it finds the benchmarks package itself
    done = subprocess.run(
        [sys.executable, f"benchmarks/{module}.py", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "--smoke" in done.stdout


def test_the_list_of_entry_points_is_every_benchmark_script() -> None:
    scripts = {p.stem for p in (ROOT / "benchmarks").glob("*.py")} - {"__init__"}
    assert scripts == set(ENTRY_POINTS)
