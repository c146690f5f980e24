"""What bench_worker.py prints: the machine's BLAS, each case's seconds per epoch, the
table of ratios against their targets, and the example PyTorch trainer's table."""

from __future__ import annotations

import platform
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.worker.cases import Case, Data, Run
from benchmarks.worker.matmul import MatmulEpoch

MATMUL_TARGET = 0.5  # the epoch should reach at least this share of the matmul-only rate
Row = tuple[Case, Data, list[Run], list[Run], MatmulEpoch]
ExampleRow = tuple[Case, list[Run], list[Run], list[Run]]  # numpy, plain torch, TorchTrainer
EXAMPLE_HEAD = "numpy s/ep  TorchTrainer s/ep  numpy/TorchTrainer  TorchTrainer/torch"


def describe_blas() -> list[str]:
    """One line per BLAS/OpenMP library loaded, with its kernel and thread count."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        cfg: Any = np.show_config(mode="dicts")
        blas = cfg.get("Build Dependencies", {}).get("blas", {})
        return [f"numpy BLAS (np.show_config): {blas.get('name')} {blas.get('version')}"]
    lines = []
    for lib in threadpool_info():
        name = " ".join(filter(None, (lib["internal_api"], lib.get("version"))))
        arch = f", kernel {lib['architecture']}" if lib.get("architecture") else ""
        lines.append(f"{name} ({Path(lib['filepath']).name}){arch}, {lib['num_threads']} thread(s)")
    return lines


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def verdict(ok: bool) -> str:
    return "ok" if ok else "MISS"


def median_seconds(runs: Sequence[Run]) -> float:
    return statistics.median(s for run in runs for s in run.seconds)


def spread(runs: Sequence[Run]) -> str:
    all_s = [s for run in runs for s in run.seconds]
    return f"{min(all_s):.4g}-{max(all_s):.4g}"


def print_case(
    np_runs: list[Run], torch_runs: list[Run], mm: MatmulEpoch, example_runs: list[Run]
) -> None:
    def acc(runs: list[Run]) -> str:
        return ", ".join(f"{r.val_accuracy:.3f}" for r in runs)

    print(
        f"  numpy   {median_seconds(np_runs):.4g} s/epoch (range {spread(np_runs)}), "
        f"val accuracy {acc(np_runs)}"
    )
    if torch_runs:
        print(
            f"  PyTorch {median_seconds(torch_runs):.4g} s/epoch (range {spread(torch_runs)}), "
            f"val accuracy {acc(torch_runs)}"
        )
    if example_runs:
        print(
            f"  TorchTrainer {median_seconds(example_runs):.4g} s/epoch "
            f"(range {spread(example_runs)}), val accuracy {acc(example_runs)}"
        )
    print(
        f"  matmul alone {mm.train:.4g} s/epoch ({mm.train_flops / mm.train / 1e9:.1f} GFLOP/s); "
        f"+ layer-1 dA {mm.first_da:.3g} s; + validation forward {mm.val:.3g} s\n"
    )


def print_table(
    rows: list[tuple[Case, Data, list[Run], list[Run], MatmulEpoch]], have_torch: bool
) -> None:
    head = (
        f"{'dataset':<32}{'numpy s/ep':>11}{'torch s/ep':>11}{'numpy/torch':>12}{'target':>9}"
        f"{'':>6}{'matmul share':>14}{'target':>9}{'':>6}"
    )
    print(head)
    print("-" * len(head))
    for case, _, np_runs, torch_runs, mm in rows:
        t_np = median_seconds(np_runs)
        share = mm.train / t_np
        if have_torch:
            t_torch = median_seconds(torch_runs)
            ratio = t_np / t_torch
            target = f"<= {case.target:.1f}x"
            torch_cells = f"{t_torch:>11.4f}{ratio:>11.2f}x{target:>9}"
            torch_cells += f"{verdict(ratio <= case.target):>6}"
        else:
            torch_cells = f"{'n/a':>11}{'n/a':>12}{'':>9}{'':>6}"
        print(
            f"{case.label:<32}{t_np:>11.4f}{torch_cells}{share:>13.0%} "
            f"{'>= ' + format(MATMUL_TARGET, '.0%'):>9}{verdict(share >= MATMUL_TARGET):>6}"
        )
    print(
        "\nmatmul share = seconds of one epoch's training-step matmuls alone (forward, dW, dA; "
        "the faster of\nnp.matmul and np.dot at the same shapes) / the numpy worker's seconds per "
        "epoch.\nMedians over all timed epochs of all runs."
    )


def print_example_table(rows: list[ExampleRow]) -> None:
    """examples/torch_trainer's TorchTrainer against the numpy worker and the plain loop."""
    print(
        "\nThe example PyTorch trainer (examples/torch_trainer, TorchTrainer.step() on the CPU) "
        "on the same data\nand network as the numpy worker; no target."
    )
    head = f"{'dataset':<32}{EXAMPLE_HEAD}"
    print(head)
    print("-" * len(head))
    for case, np_runs, torch_runs, example_runs in rows:
        t_np, t_torch = median_seconds(np_runs), median_seconds(torch_runs)
        t_example = median_seconds(example_runs)
        print(
            f"{case.label:<32}{t_np:>10.4f}{t_example:>19.4f}{t_np / t_example:>19.2f}x"
            f"{t_example / t_torch:>19.2f}x"
        )
    print(
        "\nTorchTrainer/torch = its seconds per epoch / the plain PyTorch loop's above (the "
        "same network and\noptimizer, with the trainer's own shuffle, cost sums and record)."
    )


def print_setup(torch: Any, tuning_vars: Sequence[str], environ: dict[str, str]) -> None:
    """Python, numpy, the CPU, OpenBLAS's tuning variables and every BLAS pool; PyTorch."""
    from benchmarks.worker.trainers import TORCH_VERSION, install_hint

    print(f"Python {platform.python_version()}, numpy {np.__version__}, CPU: {cpu_name()}")
    tuning = [f"{v}={environ[v]}" for v in tuning_vars if v in environ]
    if not tuning:
        print("OpenBLAS tuning: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (its own kernels)")
    else:
        print(f"OpenBLAS tuning: {' '.join(tuning)} (as set here; --native-openblas unsets)")
        if len(tuning) == 1:
            print("  warning: only one of the two is set; unset both together or neither")
    for line in describe_blas():
        print(f"  {line}")
    if torch is None:
        print(install_hint())
        return
    print(
        f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}, "
        f"inter-op threads {torch.get_num_interop_threads()}"
    )
    if torch.__version__.split("+")[0] != TORCH_VERSION:
        print(f"  note: the reference numbers were taken with torch {TORCH_VERSION}")
