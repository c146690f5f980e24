"""Seconds per epoch of the numpy worker against the same network in PyTorch, on one core.

Run from the repository root (not part of the test suite):

    .venv/bin/python benchmarks/bench_worker.py [--repeats N] [--quick] [--native-openblas]

It times `workers.mlp.trainer.Trainer.step()` and a plain PyTorch CPU loop on digits and on a
60,000 x 784 synthetic set, times the matrix products alone (the faster of `np.matmul`
and `np.dot`) at the shapes of one training step, and prints the ratios next to their
targets. PyTorch is only needed here:
``.venv/bin/pip install torch==2.13.0`` (the CPU build kept on disk; an unpinned torch
pulls a multi-GB CUDA build).
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from workers.threads import BLAS_VARIABLES as THREAD_VARS  # noqa: E402  (imports nothing)

# This machine pins OpenBLAS to its Haswell kernels (older OpenBLAS builds fail on the
# real CPU); a current numpy runs its own kernels only when both are unset together.
OPENBLAS_TUNING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# Before numpy or torch is imported: one BLAS/OpenMP thread each, so both sides are
# measured per core and the shared 2-core machine's other jobs skew neither.
for _var in THREAD_VARS:
    os.environ[_var] = "1"
if "--native-openblas" in sys.argv[1:] and any(v in os.environ for v in OPENBLAS_TUNING_VARS):
    _env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_TUNING_VARS}
    sys.stdout.flush()
    os.execve(sys.executable, sys.orig_argv, _env)  # the new process finds both unset

import argparse  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent  # the working tree, on sys.path above

from workers.mlp.trainer import Trainer  # noqa: E402

TORCH_VERSION = "2.13.0"
LEARNING_RATE, BETAS, ADAM_EPS = 1e-3, (0.9, 0.999), 1e-8
MATMUL_TARGET = 0.5  # the epoch should reach at least this share of the matmul-only rate


@dataclass(frozen=True)
class Case:
    """One dataset and network to time, with its numpy/PyTorch target."""

    label: str
    spec: str  # for workers.data.datasets.load_dataset
    hidden_layers: int
    hidden_units: int
    batch_size: int
    epochs: int  # timed epochs per run, after one warm-up epoch
    quick_epochs: int
    target: float  # numpy seconds / PyTorch seconds should be at most this

    def config(self) -> dict[str, Any]:
        return {
            "hidden_layers": self.hidden_layers,
            "hidden_units": self.hidden_units,
            "batch_size": self.batch_size,
            "optimizer": "adam",
            "learning_rate": LEARNING_RATE,
            "beta1": BETAS[0],
            "beta2": BETAS[1],
            "epsilon": ADAM_EPS,
            "dtype": "float32",
        }


CASES = (
    Case("digits 3x100 b64", "digits", 3, 100, 64, epochs=40, quick_epochs=15, target=0.6),
    Case(
        "synthetic 60000x784 2x256 b128",
        "synthetic:rows=60000,features=784,classes=10",
        2,
        256,
        128,
        epochs=5,
        quick_epochs=2,
        target=1.0,
    ),
)


@dataclass(frozen=True)
class Data:
    """The arrays both sides train on; float32 copies, made once and not timed."""

    X_train: np.ndarray  # (n, d) float32
    y_train: np.ndarray  # (n,) int64
    X_val: np.ndarray  # (n_val, d) float32
    y_val: np.ndarray  # (n_val,) int64
    n_classes: int
    source: str

    def __repr__(self) -> str:
        return (
            f"Data(train={self.X_train.shape}, val={self.X_val.shape}, "
            f"classes={self.n_classes}, from {self.source})"
        )


@dataclass(frozen=True)
class Run:
    """Timed epochs of one run and the validation accuracy after its last epoch."""

    seconds: tuple[float, ...]
    val_accuracy: float


# -- data ---------------------------------------------------------------------------------


def load(spec: str, seed: int = 0) -> Data:
    """The dataset from `workers.data.datasets`, or an equivalent built here if that fails."""
    try:
        from workers.data.datasets import load_dataset

        ds = load_dataset(spec, seed=seed)
        arrays: tuple[np.ndarray, ...] = (ds.X_train, ds.y_train, ds.X_val, ds.y_val)
        n_classes, source = ds.n_classes, "workers.data.datasets.load_dataset"
    except Exception as err:  # a module being written elsewhere: do not let it stop us
        print(f"  workers.data.datasets.load_dataset({spec!r}) failed ({err!r}); building it here")
        arrays, n_classes = _fallback(spec, seed)
        source = "the benchmark's fallback"
    X, y, Xv, yv = arrays
    return Data(
        np.array(X, dtype=np.float32),
        np.array(y, dtype=np.int64),
        np.array(Xv, dtype=np.float32),
        np.array(yv, dtype=np.int64),
        n_classes,
        source,
    )


def _fallback(spec: str, seed: int) -> tuple[tuple[np.ndarray, ...], int]:
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    if spec == "digits":
        from sklearn.datasets import load_digits

        X, y = load_digits(return_X_y=True)
    else:
        opts = dict(kv.split("=") for kv in spec.partition(":")[2].split(","))
        rows, d, k = int(opts["rows"]), int(opts["features"]), int(opts["classes"])
        y = np.arange(rows) % k
        centres = rng.standard_normal((k, d)) * (3.0 / math.sqrt(d))  # (K, d)
        X = rng.standard_normal((rows, d)) + centres[y]  # (rows, d)
    X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.2, stratify=y, random_state=seed)
    mean, std = X_tr.mean(axis=0), X_tr.std(axis=0)
    std[std == 0] = 1.0
    return ((X_tr - mean) / std, y_tr, (X_val - mean) / std, y_val), int(y.max()) + 1


# -- the two trainers -------------------------------------------------------------------


def run_numpy(case: Case, data: Data, seed: int, epochs: int) -> Run:
    trainer = Trainer(case.config(), data, seed)  # type: ignore[arg-type]  # duck-typed
    trainer.step()  # warm-up
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        record = trainer.step()
        seconds.append(time.perf_counter() - start)
    return Run(tuple(seconds), record.val_accuracy)


def run_torch(torch: Any, case: Case, data: Data, seed: int, epochs: int) -> Run:
    nn = torch.nn
    X, y = torch.from_numpy(data.X_train), torch.from_numpy(data.y_train)
    X_val, y_val = torch.from_numpy(data.X_val), torch.from_numpy(data.y_val)
    n, d = X.shape
    h, b = case.hidden_units, case.batch_size
    with torch.random.fork_rng(devices=[]):  # seeded init without touching the global RNG
        torch.manual_seed(seed)
        layers: list[Any] = []
        for i in range(case.hidden_layers):
            layers += [
                nn.Linear(d if i == 0 else h, h, bias=False),
                nn.BatchNorm1d(h, eps=1e-5, momentum=0.1),  # = 0.9 in the worker's terms
                nn.ReLU(),
            ]
        model = nn.Sequential(*layers, nn.Linear(h, data.n_classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=BETAS, eps=ADAM_EPS)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)

    def epoch() -> float:
        model.train()
        perm = torch.randperm(n, generator=generator)
        total = 0.0
        for lo in range(0, n, b):
            idx = perm[lo : lo + b]
            xb, yb = X[idx], y[idx]
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)  # the worker also reports each batch's cost
        model.eval()
        with torch.no_grad():
            logits = model(X_val)
            loss_fn(logits, y_val).item()
            return float((logits.argmax(dim=1) == y_val).float().mean().item())

    epoch()  # warm-up
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        accuracy = epoch()
        seconds.append(time.perf_counter() - start)
    return Run(tuple(seconds), accuracy)


# -- matmul alone ----------------------------------------------------------------------

Matmul = tuple[np.ndarray, np.ndarray, np.ndarray]  # (left, right, out)


def step_matmuls(widths: Sequence[int], rows: int, rng: np.random.Generator) -> list[Matmul]:
    """The matmuls of one training step on `rows` rows, laid out as workers/mlp/model.py has them.

    Per layer: forward a @ W, dW = a.T @ dz, and dA = dz @ W.T except for the first layer,
    whose input needs no gradient (neither the worker nor PyTorch computes it).
    """
    ops: list[Matmul] = []
    for i, (d_in, d_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        a = _randn(rng, rows, d_in)  # (B, d_in) the layer's input
        w = _randn(rng, d_in, d_out)  # (d_in, d_out)
        dz = _randn(rng, rows, d_out)  # (B, d_out)
        ops.append((a, w, np.empty((rows, d_out), np.float32)))
        ops.append((a.T, dz, np.empty((d_in, d_out), np.float32)))
        if i > 0:
            ops.append((dz, w.T, np.empty((rows, d_in), np.float32)))
    return ops


def first_layer_da(widths: Sequence[int], rows: int, rng: np.random.Generator) -> list[Matmul]:
    dz, w = _randn(rng, rows, widths[1]), _randn(rng, widths[0], widths[1])
    return [(dz, w.T, np.empty((rows, widths[0]), np.float32))]


def eval_matmuls(widths: Sequence[int], rows: int, rng: np.random.Generator) -> list[Matmul]:
    """The forward matmuls of evaluating `rows` validation rows."""
    return [
        (_randn(rng, rows, d_in), _randn(rng, d_in, d_out), np.empty((rows, d_out), np.float32))
        for d_in, d_out in zip(widths[:-1], widths[1:], strict=True)
    ]


def _randn(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape, dtype=np.float32)


def flops(ops: Sequence[Matmul]) -> int:
    return sum(2 * a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in ops)


def time_matmuls(ops: Sequence[Matmul], rounds: int, min_round: float = 0.05) -> float:
    """Median seconds for one pass over `ops`, each round long enough to time reliably.

    Both numpy products are timed and the faster taken as the reference: at small shapes
    `np.dot` calls BLAS with less overhead than `np.matmul` (about 14 us against 20 us for
    64x100 @ 100x100 here), and the worker uses `np.dot`.
    """

    def run(product: Any, loops: int) -> float:
        start = time.perf_counter()
        for _ in range(loops):
            for a, b, out in ops:
                product(a, b, out=out)
        return time.perf_counter() - start

    best = math.inf
    for product in (np.matmul, np.dot):
        run(product, 1)
        loops = max(1, math.ceil(min_round / max(run(product, 1), 1e-7)))
        best = min(best, statistics.median(run(product, loops) / loops for _ in range(rounds)))
    return best


@dataclass(frozen=True)
class MatmulEpoch:
    """Seconds the matmuls of one epoch take alone."""

    train: float  # every training step's forward, dW and dA matmuls
    first_da: float  # layer 1's dA, which no one computes, over the epoch
    val: float  # the validation forward matmuls
    train_flops: int


def matmul_epoch(case: Case, data: Data, rounds: int) -> MatmulEpoch:
    rng = np.random.default_rng(0)
    widths = [data.X_train.shape[1]] + [case.hidden_units] * case.hidden_layers
    widths.append(data.n_classes)
    n, b = data.X_train.shape[0], case.batch_size
    full, rest = divmod(n, b)
    train_ops = step_matmuls(widths, b, rng)
    train = full * time_matmuls(train_ops, rounds)
    train_flops = full * flops(train_ops)
    first_da = full * time_matmuls(first_layer_da(widths, b, rng), rounds)
    if rest:
        rest_ops = step_matmuls(widths, rest, rng)
        train += time_matmuls(rest_ops, rounds)
        train_flops += flops(rest_ops)
        first_da += time_matmuls(first_layer_da(widths, rest, rng), rounds)
    val = time_matmuls(eval_matmuls(widths, data.X_val.shape[0], rng), rounds)
    return MatmulEpoch(train, first_da, val, train_flops)


# -- reporting ---------------------------------------------------------------------------


def limit_blas_threads() -> Any | None:
    """Hold every loaded BLAS/OpenMP pool at one thread, in case numpy came in first."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None  # the environment variables set above are then all there is
    return threadpool_limits(limits=1)


def import_torch() -> Any | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    torch.set_num_interop_threads(1)
    return torch


def install_hint() -> str:
    pip = ROOT / ".venv" / "bin" / "pip"
    command = f"{pip} install" if pip.exists() else f"{sys.executable} -m pip install"
    return (
        "PyTorch is not installed, so only the numpy side was timed. Install the CPU build "
        f"kept on disk (no other version: an unpinned torch pulls a multi-GB CUDA build):\n"
        f"    {command} torch=={TORCH_VERSION}"
    )


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


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats",
        type=int,
        default=None,
        help="fresh runs per trainer and dataset (default 3, or 1 with --quick)",
    )
    parser.add_argument("--quick", action="store_true", help="fewer epochs; well under a minute")
    parser.add_argument(
        "--native-openblas",
        action="store_true",
        help="re-run with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE both unset, so OpenBLAS "
        "picks its own kernels for this CPU",
    )
    args = parser.parse_args(argv)
    if args.repeats is None:
        args.repeats = 1 if args.quick else 3
    if args.repeats < 1:
        parser.error(f"--repeats must be an integer >= 1, got {args.repeats}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    torch = import_torch()
    _limits = limit_blas_threads()  # held for the whole run
    started = time.perf_counter()
    print(f"Python {platform.python_version()}, numpy {np.__version__}, CPU: {cpu_name()}")
    tuning = [f"{v}={os.environ[v]}" for v in OPENBLAS_TUNING_VARS if v in os.environ]
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
    else:
        print(
            f"torch {torch.__version__}, intra-op threads {torch.get_num_threads()}, "
            f"inter-op threads {torch.get_num_interop_threads()}"
        )
        if torch.__version__.split("+")[0] != TORCH_VERSION:
            print(f"  note: the reference numbers were taken with torch {TORCH_VERSION}")
    mode = "quick" if args.quick else "default"
    print(f"Mode {mode}: {args.repeats} run(s) per trainer, one warm-up epoch each\n")

    rows: list[tuple[Case, Data, list[Run], list[Run], MatmulEpoch]] = []
    for case in CASES:
        data = load(case.spec)
        epochs = case.quick_epochs if args.quick else case.epochs
        print(f"{case.label}: {data!r}, {epochs} timed epochs per run")
        np_runs, torch_runs = [], []
        for seed in range(args.repeats):  # interleaved, so load on the machine hits both
            np_runs.append(run_numpy(case, data, seed, epochs))
            if torch is not None:
                torch_runs.append(run_torch(torch, case, data, seed, epochs))
        mm = matmul_epoch(case, data, rounds=3 if args.quick else 7)
        _print_case(np_runs, torch_runs, mm)
        rows.append((case, data, np_runs, torch_runs, mm))

    _print_table(rows, torch is not None)
    print(f"\nTotal {time.perf_counter() - started:.0f} s.")
    if torch is None:
        print(install_hint())
        return 1
    return 0


def _print_case(np_runs: list[Run], torch_runs: list[Run], mm: MatmulEpoch) -> None:
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
    print(
        f"  matmul alone {mm.train:.4g} s/epoch ({mm.train_flops / mm.train / 1e9:.1f} GFLOP/s); "
        f"+ layer-1 dA {mm.first_da:.3g} s; + validation forward {mm.val:.3g} s\n"
    )


def _print_table(
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


if __name__ == "__main__":
    sys.exit(main())
