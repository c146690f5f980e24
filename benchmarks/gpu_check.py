"""Whether trials train on the GPUs: the example PyTorch sweep (examples/torch_trainer) run
with `gpus_per_trial: 0.5` and again on the CPU, seconds per epoch side by side, and the
GPUs' use while the GPU run trains (sampled with nvidia-smi, where it is installed).

Run from the repository root (not part of the test suite, except its smoke run):

    .venv/bin/python benchmarks/gpu_check.py [--dataset SPEC] [--smoke] [--keep]
    .venv/bin/python -m benchmarks.gpu_check ...      (the same)

It needs PyTorch (``.venv/bin/pip install -e '.[torch]'``). Without a GPU
(`torch.cuda.is_available()` is False) it says so and exits 0, measuring nothing. Both runs
are `caviar run` of the same sweep (the same trials, FIFO, 2 at a time, one CPU each), the
CPU run with CUDA_VISIBLE_DEVICES empty so that no trial sees a GPU.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: the benchmarks package of this working tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common.entry import ROOT, one_blas_thread, smoke_note
from benchmarks.common.text import load_average

EXAMPLE = ROOT / "examples" / "torch_trainer"
GPU_QUERY = "index,utilization.gpu,memory.used,memory.total"
HEAD = "| run | trials | epochs | s/epoch (median, range) | wall s |"


@dataclass(frozen=True)
class Plan:
    trials: int
    max_epochs: int


FULL, SMOKE = Plan(trials=4, max_epochs=10), Plan(trials=2, max_epochs=2)


@dataclass(frozen=True)
class Measured:
    """One run: its seconds per epoch (the store's `seconds`), wall time and exit code."""

    label: str
    code: int
    wall: float
    seconds: tuple[float, ...]
    log: Path


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--dataset",
        default=None,
        help="the dataset both runs train on (default: the example sweep's, digits)",
    )
    parser.add_argument(
        "--smoke", action="store_true", help=f"{SMOKE.trials} trials of {SMOKE.max_epochs} epochs"
    )
    parser.add_argument("--keep", action="store_true", help="keep the results and logs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    one_blas_thread()  # before numpy loads, here and in every child
    args = parse_args(argv)
    try:
        import torch
    except ImportError:
        print("PyTorch is not installed: .venv/bin/pip install -e '.[torch]'")
        if args.smoke:
            smoke_note("nothing measured: PyTorch is not installed")
            return 0
        return 1
    if not torch.cuda.is_available():
        print(
            f"no GPU found: torch {torch.__version__} sees none (torch.cuda.is_available() "
            "is False), so there is nothing to check"
        )
        return 0
    # the count only: naming a device would open a CUDA context in this process
    gpus = torch.cuda.device_count()
    print(f"torch {torch.__version__}, {gpus} GPU(s); load {load_average()}")
    return run(args, SMOKE if args.smoke else FULL)


def run(args: argparse.Namespace, plan: Plan) -> int:
    from benchmarks.common.processes import WORKERS, keep_or_remove

    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="caviar-gpu-check-"))
    shutil.copy(EXAMPLE / "torch_mlp.py", work / "torch_mlp.py")  # found beside the sweep
    print(f"{plan.trials} trials x {plan.max_epochs} epochs, {WORKERS} at a time, in {work}\n")
    cpu = measure("CPU (cpus_per_trial 1)", sweep(work, "cpu", args.dataset, plan, None), work)
    sampler = GpuSampler()
    with sampler:
        gpu = measure("GPU (gpus_per_trial 0.5)", sweep(work, "gpu", args.dataset, plan, 0.5), work)
    print(HEAD)
    print("| --- | ---: | ---: | ---: | ---: |")
    for m in (cpu, gpu):
        cells = f"{plan.trials} | {len(m.seconds)} | {spread(m.seconds)} | {m.wall:.1f}"
        print(f"| {m.label} | {cells} |")
    if cpu.seconds and gpu.seconds:
        ratio = statistics.median(gpu.seconds) / statistics.median(cpu.seconds)
        print(f"\nGPU / CPU seconds per epoch: {ratio:.2f}x (below 1: the GPU is faster)")
    print()
    print(sampler.summary())
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")
    failed = [m for m in (cpu, gpu) if m.code != 0]
    for m in failed:
        print(f"{m.label}: caviar run exited {m.code}; its log: {m.log}")
    if failed:
        return 1
    keep_or_remove(work, args.keep, "Results and logs")
    return 0


def sweep(
    work: Path, name: str, dataset: str | None, plan: Plan, gpus: float | None
) -> dict[str, Any]:
    """The example sweep, every trial to its last epoch, with `gpus` per trial or none."""
    import copy

    from orchestrator.sweepfile.parse import load_sweep

    raw = copy.deepcopy(dict(load_sweep(EXAMPLE / "sweep.yaml").source))  # the file as read
    raw.pop("stages", None)
    raw.update(name=name, scheduler="fifo", sampler="sobol", keep=0, results=str(work / "runs"))
    if dataset is not None:
        raw["dataset"] = dataset
    raw["budget"] = {"trials": plan.trials, "max_epochs": plan.max_epochs}
    raw["resources"] = {"cpus_per_trial": 1, **({"gpus_per_trial": gpus} if gpus else {})}
    return raw


def measure(label: str, source: dict[str, Any], work: Path) -> Measured:
    """`caviar run` of `source` in a Ray of its own; the GPUs hidden unless it asks for them."""
    from benchmarks.common.processes import run_caviar
    from benchmarks.common.sweep_db import read_store

    hide = {} if "gpus_per_trial" in source["resources"] else {"CUDA_VISIBLE_DEVICES": ""}
    done = run_caviar(source, work, own_ray_tmp=True, extra_env=hide, options=["--no-dashboard"])
    _, _, seconds = read_store(Path(source["results"]) / source["name"] / "sweep.db")
    print(f"{label}: exit {done.code}, {len(seconds)} epochs in {done.wall:.1f} s")
    return Measured(label, done.code, done.wall, tuple(seconds), done.log)


def spread(values: Sequence[float]) -> str:
    if not values:
        return "n/a"
    return f"{statistics.median(values):.4f} ({min(values):.4f}-{max(values):.4f})"


class GpuSampler:
    """nvidia-smi's view of every GPU, twice a second while the GPU run trains."""

    def __init__(self, every: float = 0.5) -> None:
        self.every = every
        self.smi = shutil.which("nvidia-smi")
        self.samples: list[tuple[int, float, float, float]] = []  # gpu, util %, MiB, MiB
        self.processes: set[str] = set()  # pids nvidia-smi listed as computing
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> GpuSampler:
        if self.smi:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            self.samples += parse_gpus(self._query(f"--query-gpu={GPU_QUERY}"))
            apps = self._query("--query-compute-apps=pid")
            self.processes |= {ln.strip() for ln in apps.splitlines() if ln.strip()}

    def _query(self, what: str) -> str:
        argv = [str(self.smi), what, "--format=csv,noheader,nounits"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return done.stdout if done.returncode == 0 else ""

    def summary(self) -> str:
        if not self.smi:
            return "nvidia-smi not found: the GPUs' use was not sampled"
        if not self.samples:
            return "nvidia-smi answered no sample while the GPU run trained"
        lines = [
            f"GPU use while the GPU run trained ({len(self.processes)} process(es) seen on "
            "the GPUs):",
            "| GPU | utilization % (mean, max) | memory used MiB (max) / total |",
            "| ---: | ---: | ---: |",
        ]
        for gpu in sorted({s[0] for s in self.samples}):
            mine = [s for s in self.samples if s[0] == gpu]
            util = [s[1] for s in mine]
            used, total = max(s[2] for s in mine), mine[-1][3]
            lines.append(
                f"| {gpu} | {statistics.mean(util):.0f}, {max(util):.0f} | "
                f"{used:.0f} / {total:.0f} |"
            )
        return "\n".join(lines)


def parse_gpus(text: str) -> list[tuple[int, float, float, float]]:
    """Rows of `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total
    --format=csv,noheader,nounits`; a row with a field it cannot read ("[N/A]") is left out."""
    rows = []
    for line in text.splitlines():
        fields = [f.strip() for f in line.split(",")]
        try:
            index, util, used, total = int(fields[0]), *map(float, fields[1:4])
        except (ValueError, IndexError):
            continue
        rows.append((index, util, used, total))
    return rows


if __name__ == "__main__":
    sys.exit(main())
