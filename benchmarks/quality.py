"""Tuning quality without a wall clock: which method finds a good network with fewest epochs.

Run from the repository root (Optuna comes with ``.venv/bin/pip install -e '.[bench]'``):

    .venv/bin/python benchmarks/quality.py [--seeds 10] [--tasks digits,moons] [--jobs 2]
    .venv/bin/python benchmarks/quality.py --from-raw   # redo table and plot from the JSON
    .venv/bin/python -m benchmarks.quality --smoke      # 1 task, 1 seed, 4 trials x 3 epochs
    .venv/bin/python benchmarks/quality.py --equal-time  # every method for FIFO's makespan
    .venv/bin/python benchmarks/quality.py --resume      # go on with an interrupted run

Every method trains the real worker (workers.mlp.trainer.Trainer) in process on a simulated
clock with 4 workers, an epoch costing its measured seconds (benchmarks/tuning/
epoch_cache.py), so results arrive in the order a cluster would deliver them. Caviar's
methods run its own loop, store and schedulers on the simulated executor
(orchestrator.execution.simulated); Optuna's run TPE with its pruners on the same clock.
The anchors, Syne Tune's ASHA, BOHB and ASHACQR and DEHB, run in their own environment
(`make .venv-anchors/.installed`; without it they are skipped with a note), each epoch
asked of this process (benchmarks/anchors/, benchmarks/tuning/anchor_runs.py).
Output: the normalized regret of the best validation cost so far against epochs and
simulated time, as quality.md, quality.png and quality-raw.json under --out; with
--equal-time, quality-equal-time.*, judged at shares of the time and against the anchors.
Each (task, seed) is appended to quality[-equal-time]-pairs.jsonl as it finishes, so a long
run can be stopped and continued with --resume (the same settings, tasks, seeds and
methods), each part of it on a quiet machine.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import json
import multiprocessing
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if not __package__:  # run as a script: the benchmarks package of this working tree
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common.entry import ROOT, one_blas_thread
from benchmarks.common.text import load_average
from benchmarks.tuning.methods import (
    DEFAULT_METHOD,
    METHODS,
    REFERENCE,
    TASKS,
    Settings,
)
from benchmarks.tuning.pair_log import PairLog

SMOKE: dict[str, Any] = {"seeds": 1, "tasks": "moons", "trials": 4, "epochs": 3, "jobs": 1}


def _names(text: str, known: Sequence[str], what: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise SystemExit(f"--{what}: unknown {unknown or text!r}; choose from {', '.join(known)}")
    return names


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0..N-1 (default 10)")
    parser.add_argument(
        "--first-seed", type=int, default=0, help="start the seeds here (a probe on fresh seeds)"
    )
    parser.add_argument("--tasks", default=",".join(TASKS), help="comma-separated tasks")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated methods")
    parser.add_argument("--trials", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--workers", type=int, default=4, help="simulated workers")
    parser.add_argument("--jobs", type=int, default=2, help="processes, each a (task, seed)")
    parser.add_argument(
        "--equal-time",
        action="store_true",
        help="every method runs for random + FIFO's simulated makespan, starting trials "
        "until it is up (Caviar's: a time budget with trials open, stages by share; output: "
        "quality-equal-time.*)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="moons, 1 seed, 4 trials x 3 epochs, every method (the anchors too: their "
        "environment must be there), in this process, written to a temporary folder; a "
        "failing method fails the run",
    )
    parser.add_argument("--out", type=Path, default=None, help="default: benchmarks/results")
    parser.add_argument("--default", default=DEFAULT_METHOD, help="the method the targets judge")
    parser.add_argument(
        "--from-raw",
        nargs="?",
        const="",
        default=None,
        help="redo the table and plot from a raw JSON (default: OUT/quality-raw.json)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the (task, seed) pairs an interrupted run of the same command finished "
        "(OUT/quality[-equal-time]-pairs.jsonl) and run the rest",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        vars(args).update(SMOKE)
    if args.first_seed < 0:
        parser.error("--first-seed must be at least 0")
    for key in ("seeds", "trials", "epochs", "workers", "jobs"):
        if getattr(args, key) < (4 if key == "trials" else 1):
            parser.error(f"--{key} must be at least {4 if key == 'trials' else 1}")
    args.tasks = _names(args.tasks, list(TASKS), "tasks")
    args.methods = _names(args.methods, METHODS, "methods")
    if REFERENCE not in args.methods:  # the regret scale and every target need it
        print(f"note: {REFERENCE} added, as the reference of the regret scale")
        args.methods.insert(0, REFERENCE)
    if args.default not in METHODS:
        parser.error(f"--default must be one of {', '.join(METHODS)}, got {args.default!r}")
    return args


def _seeds(args: argparse.Namespace) -> range:
    return range(args.first_seed, args.first_seed + args.seeds)


def run_all(args: argparse.Namespace, settings: Settings, log: PairLog) -> list[dict[str, Any]]:
    """Every (task, seed) the log does not hold yet, the costliest tasks first, in --jobs
    processes; each is appended to the log as it finishes."""
    from benchmarks.tuning.pair import run_pair

    every = [(t, s) for t in args.tasks for s in _seeds(args)]
    pairs = [p for p in log.finished if (p["task"], p["seed"]) in every]
    jobs = [job for job in every if job not in {(p["task"], p["seed"]) for p in pairs}]
    if pairs:
        print(f"resumed: {len(pairs)} (task, seed) pairs from {log.path}; {len(jobs)} to run")
    noted: set[str] = set()
    if args.jobs == 1:
        for task, seed in jobs:
            pairs.append(log.add(done(run_pair(task, seed, args.methods, settings), noted)))
    else:
        spawn = multiprocessing.get_context("spawn")  # a clean process: no forked BLAS pools
        with concurrent.futures.ProcessPoolExecutor(args.jobs, mp_context=spawn) as pool:
            futures = [pool.submit(run_pair, t, s, args.methods, settings) for t, s in jobs]
            for future in concurrent.futures.as_completed(futures):
                pairs.append(log.add(done(future.result(), noted)))
    order = {job: i for i, job in enumerate(every)}
    return sorted(pairs, key=lambda p: order[(p["task"], p["seed"])])


def done(pair: dict[str, Any], noted: set[str]) -> dict[str, Any]:
    """Print what one (task, seed) did, and each method it skipped (once per method)."""
    skipped = [m for m, r in pair["runs"].items() if "skipped" in r]
    for method in skipped:
        note = f"note: {method} skipped: {pair['runs'][method]['skipped']}"
        if note not in noted:  # once, not once per task and seed
            noted.add(note)
            print(note, flush=True)
    print(
        f"{pair['task']} seed {pair['seed']}: {pair['trained']} epochs trained "
        f"({pair['train_seconds']:.1f} s of them), {pair['wall']:.1f} s wall, "
        f"{pair['trained'] / max(pair['wall'], 1e-9):.0f} epochs/s"
        + (f"; skipped {', '.join(skipped)}" if skipped else ""),
        flush=True,
    )
    return pair


def measure(args: argparse.Namespace, log_path: Path) -> dict[str, Any]:
    """Every (task, seed) run now (or, with --resume, kept from the log), with how it was
    run: the raw JSON of the report."""
    settings = Settings(args.trials, args.epochs, args.workers, args.equal_time, args.smoke)
    command = " ".join([Path(sys.executable).name, *sys.argv])
    date = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    before = load_average()
    print(f"{command}\n{date}; load average before: {before}", flush=True)
    began = time.perf_counter()
    header = {"settings": vars(settings), "methods": args.methods}
    log = PairLog.open(log_path, header, args.resume)
    pairs = run_all(args, settings, log)
    wall = time.perf_counter() - began
    after = load_average()
    trained = sum(p["trained"] for p in pairs if p not in log.finished)  # in this sitting
    print(
        f"load average after: {after}; {wall:.0f} s wall, {trained} epochs trained "
        f"({trained / max(wall, 1e-9):.0f} epochs/s over {args.jobs} process(es))"
    )
    meta = {
        "command": command,
        "date": date,
        "load_before": before,
        "load_after": after,
        "wall": wall + sum(p.get("wall", 0.0) for p in log.parts),  # every sitting's
        "settings": vars(settings),
        "seeds": list(_seeds(args)),
        "tasks": args.tasks,
        "methods": args.methods,
        "default": args.default,
        "jobs": args.jobs,
        "parts": [*log.parts, {"date": date, "load_before": before, "load_after": after}],
    }
    log.close({"date": date, "load_before": before, "load_after": after, "wall": wall})
    return {"meta": meta, "pairs": pairs}


def main(argv: Sequence[str] | None = None) -> int:
    one_blas_thread()  # before numpy loads, here and in every process of the pool
    from benchmarks.tuning.plot import plot
    from benchmarks.tuning.report import report

    args = parse_args(argv)
    smoke_dir = tempfile.TemporaryDirectory(prefix="quality-smoke-") if args.smoke else None
    out: Path = args.out or (Path(smoke_dir.name) if smoke_dir else ROOT / "benchmarks" / "results")
    out.mkdir(parents=True, exist_ok=True)
    stem = "quality-equal-time" if args.equal_time else "quality"
    raw_path = out / f"{stem}-raw.json"
    if args.from_raw is not None:
        raw = json.loads(Path(args.from_raw or raw_path).read_text())
        raw["meta"]["default"] = args.default
    else:
        raw = measure(args, out / f"{stem}-pairs.jsonl")
        raw_path.write_text(json.dumps(raw))
    text = report(raw)
    (out / f"{stem}.md").write_text(text)
    plot(raw, out / f"{stem}.png")
    print(text)
    print(f"written: {out / f'{stem}.md'}, {out / f'{stem}.png'}, {raw_path}")
    if smoke_dir is not None:
        smoke_dir.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
