"""`caviar run` and `caviar resume`: the sweep commands of the command line."""

from __future__ import annotations

import argparse
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
        "--results", type=Path, help="results directory (default: the sweep file's `results`)"
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
    _ray_options(resume, positive_int)
    resume.set_defaults(handler=_resume)


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

    spec, run_dir, store = new_run(args.file, args.results)
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


def _summary(run_dir: Path) -> str:
    from orchestrator.results import load_run

    run = load_run(run_dir)
    board = run.leaderboard(10)
    lines = [f"\nleaderboard ({run.metric}, {run.direction}):", board.to_string(index=False)]
    lines.append(f"results: {run_dir} (caviar show {run_dir}; orchestrator.load_run in Python)")
    return "\n".join(lines)
