"""`caviar train`: the arguments of panda mode, one model trained and watched."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from caviar_common.errors import InputError
from orchestrator.cli.args import add_command, fraction, positive_int, seed
from workers.mlp.config import RULES, ModelConfig, parse_assignment


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    settings = "\n".join(f"  {k:<14} {r.says}: {r.help}" for k, r in RULES.items())
    train = add_command(
        commands,
        "train",
        _train,
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
    train.add_argument("--epochs", type=positive_int, default=30, help="epochs (default: 30)")
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
        type=seed,
        default=0,
        help="master seed: split, initial weights, mini-batches (default: 0)",
    )
    train.add_argument(
        "--val-fraction",
        type=fraction,
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


def _train(args: argparse.Namespace) -> int:
    from orchestrator.panda.train import train
    from orchestrator.report.plots import save_training_plot
    from workers.data.datasets import load_dataset

    settings = dict(parse_assignment(s) for s in args.settings)
    config = ModelConfig.from_dict(settings)
    if args.plot is not None and args.plot.suffix.lower() != ".png":
        raise InputError("--plot", "must name a .png file", str(args.plot))
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
