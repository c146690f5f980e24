"""`caviar run`, `resume`, `extend`, `report`, `show` and `export`: the commands on a sweep's
results."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from caviar_common.errors import InputError
from orchestrator.cli.args import add_command, add_run_dir, add_sweep_file, positive_int

if TYPE_CHECKING:
    from orchestrator.core.spec import SweepSpec
    from orchestrator.storage.store import Store


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = add_command(
        commands,
        "run",
        _run,
        help="run a sweep on Ray (without FILE: the built-in digits sweep)",
        description="Run a sweep: sample configurations, train them on Ray workers in "
        "parallel, prune weak trials, and record everything under results/NAME. Without an "
        "address it attaches to the local cluster from `caviar up` while one is up, else "
        "starts a private Ray with one worker per core.",
    )
    add_sweep_file(run, nargs="?")
    _driver_options(run, results=True)

    resume = add_command(
        commands,
        "resume",
        _resume,
        help="finish a sweep that was interrupted or whose driver died",
        description="Continue a sweep from its results directory: finished trials stay, "
        "running ones continue from their checkpoints, the rest of the budget is run.",
    )
    add_run_dir(resume)
    _driver_options(resume)

    extend = add_command(
        commands,
        "extend",
        _extend,
        help="grow a sweep: a stage of more trials, more epochs per trial, a larger budget",
        description="Add a stage of N trials to a sweep (sampled by the last stage's "
        "sampler unless --sampler says otherwise; TPE goes on from every result so far) "
        "and/or raise its epoch budget, so that paused trials can be promoted further and "
        "the kept trials that completed go on from their checkpoints. A sweep whose trials "
        "are open grows by its budget: --epochs and --time-limit (both totals). Then runs "
        "what was added; an extended sweep resumes like any other.",
    )
    add_run_dir(extend)
    extend.add_argument("--trials", type=positive_int, help="trials in the new stage")
    extend.add_argument(
        "--max-epochs", type=positive_int, help="the new epoch budget per trial (not smaller)"
    )
    extend.add_argument("--sampler", help="the new stage's sampler (default: the last stage's)")
    extend.add_argument(
        "--epochs", type=positive_int, help="the new budget.epochs, all trials together"
    )
    extend.add_argument(
        "--time-limit", type=float, help="the new budget.time_limit in seconds, all runs together"
    )
    _driver_options(extend)

    report = add_command(
        commands,
        "report",
        _report,
        help="write a sweep's HTML report (and, with --png DIR, its figures as PNG files)",
        description="One self-contained HTML file (no server, no network) with every cost "
        "curve, the metric against each hyperparameter on its own scale, the top trials, each "
        "stage's sampling box, the leaderboard and the epochs pruning saved. Safe to run while "
        "the sweep runs.",
    )
    add_run_dir(report)
    report.add_argument("--out", type=Path, help="HTML file (default: runs/NAME/report.html)")
    report.add_argument("--png", type=Path, metavar="DIR", help="also write each figure here")

    show = add_command(commands, "show", _show, help="print a sweep's leaderboard and counts")
    add_run_dir(show)
    show.add_argument("-n", type=positive_int, default=10, help="rows (default: 10)")
    show.add_argument(
        "--importance",
        action="store_true",
        help="also rank the hyperparameters by how much of the variation in results each "
        "explains (fANOVA; the report shows the same)",
    )

    export = add_command(
        commands,
        "export",
        _export,
        help="write a sweep's trials and curves as CSV or Parquet files, or (with --model) "
        "a kept model's weights and description",
        description="Without --model: trials.FMT and curves.FMT. With --model best or a "
        "trial (id or number): that kept model's weights (weights.npz, no pickle) and "
        "model.json (its configuration, seed, epoch, validation and test figures), by "
        "default into RUN/models/TRIAL.",
    )
    add_run_dir(export)
    export.add_argument(
        "--model", metavar="best|TRIAL", help="export a kept model instead of the tables"
    )
    # results.EXPORT_FORMATS, spelled out: importing results would load pandas at start-up
    export.add_argument("--format", choices=("csv", "parquet"), default="csv")
    export.add_argument("--out", type=Path, help="directory (default: the run directory)")
    export.add_argument("--force", action="store_true", help="overwrite earlier exports")


def _driver_options(parser: argparse.ArgumentParser, results: bool = False) -> None:
    """What `run` and `resume` share: where to run, how wide, how to show progress.

    Only a new run takes `--results`: a resumed sweep stays where it was recorded.
    """
    parser.add_argument(
        "--report",
        action="store_true",
        help="keep runs/NAME/report.html up to date while the sweep runs",
    )
    if results:
        parser.add_argument(
            "--results",
            type=Path,
            help="results directory (default: $CAVIAR_RESULTS, else the sweep file's `results`)",
        )
    parser.add_argument(
        "--address",
        help="an existing Ray cluster: 'auto', 'ray://HOST:10001' or 'HOST:6379' "
        "(default: the local cluster from `caviar up` if it is up, else a private Ray on "
        "127.0.0.1)",
    )
    parser.add_argument(
        "--no-dashboard",
        dest="dashboard",
        action="store_false",
        help="start the private Ray without its dashboard (fewer processes); a cluster "
        "joined keeps its own",
    )
    parser.add_argument(
        "--workers",
        type=positive_int,
        help="trials at a time (default: as many as the cluster's nodes hold of the sweep's "
        "resources per trial, shared equally with other Caviar sweeps on it)",
    )
    parser.add_argument(
        "--plain", action="store_true", help="plain progress lines even on a terminal"
    )


def _run(args: argparse.Namespace) -> int:
    from orchestrator.execution.runner import default_results, new_run

    spec, run_dir, store = new_run(args.file, default_results(args.results))
    return _drive(spec, run_dir, store, args)


def _resume(args: argparse.Namespace) -> int:
    from orchestrator.execution.runner import reopen_run

    spec, store = reopen_run(args.run_dir)
    return _drive(spec, args.run_dir, store, args)


def _extend(args: argparse.Namespace) -> int:
    from orchestrator.execution.runner import extend_run

    spec, store = extend_run(
        args.run_dir,
        trials=args.trials,
        max_epochs=args.max_epochs,
        sampler=args.sampler,
        epochs=args.epochs,
        time_limit=args.time_limit,
    )
    return _drive(spec, args.run_dir, store, args)


def _drive(spec: SweepSpec, run_dir: Path, store: Store, args: argparse.Namespace) -> int:
    from orchestrator.execution.runner import drive

    drive(
        spec,
        run_dir,
        store,
        f"`caviar resume {run_dir}`",
        address=args.address,
        workers=args.workers,
        plain=True if args.plain else None,
        report=args.report,
        dashboard=args.dashboard,
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    from orchestrator.report.page import write_report

    if args.out is not None and args.out.is_dir():
        raise InputError("--out", f"must name an HTML file, got the directory {str(args.out)!r}")
    if args.png is not None and args.png.exists() and not args.png.is_dir():
        raise InputError("--png", f"must name a directory, got the file {str(args.png)!r}")
    print(write_report(args.run_dir, args.out, args.png))
    if args.png is not None:
        print(f"figures: {args.png}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from orchestrator.results.run import load_run

    run = load_run(args.run_dir)
    print(run.summary(args.n))
    if args.importance:
        from orchestrator.search.importance import METHOD, WHY_LEFT_OUT, left_out
        from orchestrator.sweepfile.parse import parse_sweep

        ranked = run.importance()  # what the report's section shows, line for line
        print(f"which hyperparameters mattered ({METHOD}):")
        lines = [f"  {line}" for line in ranked["line"]]
        print("\n".join(lines) if lines else "  too few trials with different results yet")
        space = parse_sweep(run.source, run.base_dir, import_trainer=False).space
        out = left_out(space, ranked["parameter"]) if lines else []
        if out:
            print(f"  left out: {', '.join(out)} ({WHY_LEFT_OUT})")
    return 0


def _export(args: argparse.Namespace) -> int:
    from orchestrator.results.run import load_run

    run = load_run(args.run_dir)
    if args.model is not None:
        written = run.export_model(args.model, args.out, args.force)
    else:
        written = run.export(args.out, args.format, args.force)
    for path in written:
        print(path)
    return 0
