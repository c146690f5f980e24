"""`caviar run`, `resume`, `report`, `show` and `export`: the sweep commands of the command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def add_commands(commands: Any, positive_int: Any) -> None:
    run = commands.add_parser(
        "run",
        help="run a sweep on Ray (without FILE: the built-in digits sweep)",
        description="Run a sweep: sample configurations, train them on Ray workers in "
        "parallel, prune weak trials, and record everything under results/NAME. Without an "
        "address it starts a local Ray with one worker per core.",
    )
    run.add_argument("file", type=Path, nargs="?", help="the sweep's YAML file")
    run.add_argument(
        "--report",
        action="store_true",
        help="keep runs/NAME/report.html up to date while the sweep runs",
    )
    run.add_argument(
        "--results",
        type=Path,
        help="results directory (default: $CAVIAR_RESULTS, else the sweep file's `results`)",
    )
    _ray_options(run, positive_int)
    run.set_defaults(handler=_run)

    resume = commands.add_parser(
        "resume",
        help="finish a sweep that was interrupted or whose driver died",
        description="Continue a sweep from its results directory: finished trials stay, "
        "running ones continue from their checkpoints, the rest of the budget is run.",
    )
    resume.add_argument("run_dir", type=Path, help="the sweep's results directory (runs/NAME)")
    resume.add_argument(
        "--report",
        action="store_true",
        help="keep runs/NAME/report.html up to date while the sweep runs",
    )
    _ray_options(resume, positive_int)
    resume.set_defaults(handler=_resume)

    report = commands.add_parser(
        "report",
        help="write a sweep's HTML report (and, with --png DIR, its figures as PNG files)",
        description="One self-contained HTML file (no server, no network) with every cost "
        "curve, the metric against each hyperparameter on its own scale, the top trials, each "
        "stage's sampling box, the leaderboard and the epochs pruning saved. Safe to run while "
        "the sweep runs.",
    )
    report.add_argument("run_dir", type=Path, help="the sweep's results directory (runs/NAME)")
    report.add_argument("--out", type=Path, help="HTML file (default: runs/NAME/report.html)")
    report.add_argument("--png", type=Path, metavar="DIR", help="also write each figure here")
    report.set_defaults(handler=_report)

    show = commands.add_parser("show", help="print a sweep's leaderboard and counts")
    show.add_argument("run_dir", type=Path, help="the sweep's results directory (runs/NAME)")
    show.add_argument("-n", type=positive_int, default=10, help="rows (default: 10)")
    show.set_defaults(handler=_show)

    export = commands.add_parser(
        "export", help="write a sweep's trials and curves as CSV or Parquet files"
    )
    export.add_argument("run_dir", type=Path, help="the sweep's results directory (runs/NAME)")
    export.add_argument("--format", choices=("csv", "parquet"), default="csv")
    export.add_argument("--out", type=Path, help="directory (default: the run directory)")
    export.add_argument("--force", action="store_true", help="overwrite earlier exports")
    export.set_defaults(handler=_export)


def _ray_options(parser: argparse.ArgumentParser, positive_int: Any) -> None:
    parser.add_argument(
        "--address",
        help="an existing Ray cluster: 'auto', 'ray://HOST:10001' or 'HOST:6379' "
        "(default: start a local Ray on 127.0.0.1)",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        help="trials at a time (default: the cluster's CPUs / cpus_per_trial)",
    )
    parser.add_argument(
        "--plain", action="store_true", help="plain progress lines even on a terminal"
    )


def _run(args: argparse.Namespace) -> int:
    from orchestrator.runner import new_run

    results = args.results
    if results is None and os.environ.get("CAVIAR_RESULTS"):  # set on a cluster's head node
        results = Path(os.environ["CAVIAR_RESULTS"])
    spec, run_dir, store = new_run(args.file, results)
    return _drive(spec, run_dir, store, args)


def _resume(args: argparse.Namespace) -> int:
    from orchestrator.runner import reopen_run

    spec, store = reopen_run(args.run_dir)
    return _drive(spec, args.run_dir, store, args)


def _drive(spec: Any, run_dir: Path, store: Any, args: argparse.Namespace) -> int:
    from orchestrator.runner import run_sweep

    try:
        run_sweep(
            spec,
            run_dir,
            store,
            address=args.address,
            workers=args.workers,
            plain=True if args.plain else None,
            report=getattr(args, "report", False),
        )
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: everything recorded so far is kept in {run_dir}; "
            f"continue with `caviar resume {run_dir}`",
            file=sys.stderr,
        )
        raise
    finally:
        store.close()
    print(_summary(run_dir))
    return 0


def _summary(run_dir: Path, n: int = 10) -> str:
    from orchestrator.results import load_run

    run = load_run(run_dir)
    board = run.leaderboard(n)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(run.counts().items()))
    epochs = int(run.trials["epochs"].sum())
    lines = [
        f"\nsweep {run.name} ({run.state}): {len(run.trials)} trials ({counts}), {epochs} epochs",
        f"leaderboard ({run.metric}, {run.direction}):",
        board.to_string(index=False) if len(board) else "  no trial has a finite value yet",
        f"results: {run_dir} (caviar show {run_dir}; orchestrator.load_run in Python)",
    ]
    return "\n".join(lines)


def _report(args: argparse.Namespace) -> int:
    from orchestrator.report import write_report

    if args.out is not None and args.out.is_dir():
        raise ValueError(f"--out: must name an HTML file, got the directory {str(args.out)!r}")
    if args.png is not None and args.png.exists() and not args.png.is_dir():
        raise ValueError(f"--png: must name a directory, got the file {str(args.png)!r}")
    print(write_report(args.run_dir, args.out, args.png))
    if args.png is not None:
        print(f"figures: {args.png}")
    return 0


def _show(args: argparse.Namespace) -> int:
    print(_summary(args.run_dir, args.n).lstrip("\n"))
    return 0


def _export(args: argparse.Namespace) -> int:
    from orchestrator.results import load_run

    run = load_run(args.run_dir)
    out = args.out or run.path  # run.path: the directory even when given its sweep.db
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out: must be a directory, got the file {str(out)!r}")
    paths = {name: out / f"{name}.{args.format}" for name in ("trials", "curves")}
    clash = [str(p) for p in paths.values() if p.exists()]
    if clash and not args.force:
        raise ValueError(
            f"{' and '.join(clash)} already exist{'s' if len(clash) == 1 else ''}; "
            "nothing was written. Pass --force to overwrite, or --out DIR to write elsewhere"
        )
    out.mkdir(parents=True, exist_ok=True)
    for name, path in paths.items():
        frame = run.trials.reset_index() if name == "trials" else run.curves
        if args.format == "csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        print(path)
    return 0
