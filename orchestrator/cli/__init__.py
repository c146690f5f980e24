"""The `caviar` command line: argument parsing and exit codes, nothing else.

Bad input of any kind (a setting, a dataset, a path) ends with a message naming what was
wrong and exit code 2; nothing already written is touched.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from workers.config import RULES, ConfigError, ModelConfig, parse_assignment

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


def _number(convert: Callable[[str], Any], check: Callable[[Any], bool], says: str):
    """An argparse type that names the rule and the value it refuses."""

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {says}, got {text!r}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"must be {says}, got {value}")
        return value

    return parse


_positive_int = _number(int, lambda v: v >= 1, "an integer >= 1")
_seed = _number(int, lambda v: v >= 0, "an integer >= 0")
_fraction = _number(float, lambda v: 0 < v < 1, "a number in (0, 1)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caviar",
        description="Tune neural networks caviar-style: many models in parallel, keep the best.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    settings = "\n".join(f"  {k:<14} {r.says}: {r.help}" for k, r in RULES.items())
    train = commands.add_parser(
        "train",
        help="train one model and watch its cost curve (panda mode)",
        description="Train one batch-norm MLP, printing its costs every epoch.",
        epilog=f"model settings for --set (defaults: {ModelConfig().to_dict()}):\n{settings}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train.add_argument(
        "--dataset",
        default="digits",
        help="built-in name (digits, breast_cancer, moons, spirals, synthetic, "
        "optionally with options: 'synthetic:rows=5000,features=20'), or a "
        ".csv/.parquet/.npz file (default: digits)",
    )
    train.add_argument("--label", help="label column of a CSV or Parquet dataset")
    train.add_argument("--epochs", type=_positive_int, default=30, help="epochs (default: 30)")
    train.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a model setting, repeatable",
    )
    train.add_argument(
        "--seed",
        type=_seed,
        default=0,
        help="master seed: split, initial weights, mini-batches (default: 0)",
    )
    train.add_argument(
        "--val-fraction",
        type=_fraction,
        default=0.2,
        help="share of rows held out for validation (default: 0.2)",
    )
    train.add_argument(
        "--out",
        type=Path,
        help="directory for curve.csv, batch_costs.csv and model.npz "
        "(default: runs/train-DATASET-TIME)",
    )
    train.add_argument("--plot", type=Path, metavar="PNG", help="also draw the cost curves")
    train.set_defaults(handler=_train)

    validate = commands.add_parser(
        "validate",
        help="check a sweep file and say what it will do",
        description="Check a sweep file strictly; exit 2 naming the first problem found.",
    )
    validate.add_argument("file", type=Path, help="the sweep's YAML file")
    validate.set_defaults(handler=_validate)

    sample = commands.add_parser(
        "sample",
        help="print the configurations a sweep would try, training nothing",
        description="Print the configurations the first stage of a sweep would try. Later "
        "stages zoom around results, so they are sampled only when the sweep runs.",
    )
    sample.add_argument("file", type=Path, help="the sweep's YAML file")
    sample.add_argument(
        "-n",
        type=_positive_int,
        dest="count",
        help="how many configurations (default: the first stage's trials)",
    )
    sample.set_defaults(handler=_sample)

    from orchestrator import cli_jobs, cli_sweep

    cli_sweep.add_commands(commands, _positive_int)
    cli_jobs.add_commands(commands, _positive_int)
    return parser


def _validate(args: argparse.Namespace) -> int:
    from orchestrator.describe import describe_sweep
    from orchestrator.sweepfile import load_sweep

    spec = load_sweep(args.file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _first_stage(spec, None)
    print(f"{args.file}: ok")
    for line in describe_sweep(spec):
        print(f"  {line}")
    for w in caught:
        print(f"  warning: {w.message}")
    return 0


def _sample(args: argparse.Namespace) -> int:
    from orchestrator.describe import proposals_table
    from orchestrator.sweepfile import load_sweep

    spec = load_sweep(args.file)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proposals = _first_stage(spec, args.count)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    print(proposals_table(proposals, spec.space.dims))
    if len(spec.stages) > 1:
        print(
            f"(stage 1 of {len(spec.stages)}; later stages zoom around its results when the "
            "sweep runs)"
        )
    return 0


def _first_stage(spec: Any, count: int | None) -> list[Any]:
    from dataclasses import replace

    from orchestrator.planner import propose, stage_box

    stage = spec.stages[0] if count is None else replace(spec.stages[0], trials=count)
    box = stage_box(spec.space, spec.stages, 0, [], [], spec.sign)
    return propose(spec.space, spec.model, stage, 0, box, spec.seed)


def _train(args: argparse.Namespace) -> int:
    from orchestrator.panda import train
    from orchestrator.plots import save_training_plot
    from workers.datasets import load_dataset

    settings = dict(parse_assignment(s) for s in args.settings)
    config = ModelConfig.from_dict(settings)
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise ValueError(f"--plot: must name a .png file, got {str(args.plot)!r}")
    dataset = load_dataset(
        args.dataset, seed=args.seed, val_fraction=args.val_fraction, label=args.label
    )
    out = args.out or Path("runs") / f"train-{dataset.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    result = train(config.to_dict(), dataset, epochs=args.epochs, seed=args.seed, out_dir=out)
    if result.best_epoch is not None:
        print(f"best validation cost {result.best_val_cost:.4f} at epoch {result.best_epoch}")
    print(f"curve: {result.curve_path}\nmodel: {result.model_path}")
    if args.plot is not None:
        save_training_plot(
            result.curve_path,
            result.batches_path,
            args.plot,
            f"{dataset.name}: {config.optimizer}, lr={config.learning_rate:g}",
        )
        print(f"plot: {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (ConfigError, ValueError) as err:
        print(f"caviar {args.command}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(
            f"caviar {args.command}: interrupted; results written so far are kept", file=sys.stderr
        )
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
