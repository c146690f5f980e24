"""What the `caviar` command modules share: checked number types, `add_command`, and the
arguments several commands take."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T", int, float)
Handler = Callable[[argparse.Namespace], int]  # a command's work; returns its exit code


def number(
    convert: Callable[[str], T], check: Callable[[T], bool], says: str
) -> Callable[[str], T]:
    """An argparse type that names the rule and the value it refuses."""

    def parse(text: str) -> T:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {says}, got {text!r}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"must be {says}, got {value}")
        return value

    return parse


positive_int = number(int, lambda v: v >= 1, "an integer >= 1")
seed = number(int, lambda v: v >= 0, "an integer >= 0")
fraction = number(float, lambda v: 0 < v < 1, "a number in (0, 1)")


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler,
    help: str,
    description: str | None = None,
    epilog: str | None = None,
    formatter_class: type[argparse.HelpFormatter] = argparse.HelpFormatter,
) -> argparse.ArgumentParser:
    """A command of `caviar`, whose parsed arguments `main` hands to `handler`."""
    parser = commands.add_parser(
        name,
        help=help,
        description=description,
        epilog=epilog,
        formatter_class=formatter_class,
    )
    parser.set_defaults(handler=handler)
    return parser


def add_sweep_file(parser: argparse.ArgumentParser, nargs: str | None = None) -> None:
    """The sweep file a command reads (`nargs="?"`: optional)."""
    parser.add_argument("file", type=Path, nargs=nargs, help="the sweep's YAML file")


def add_run_dir(parser: argparse.ArgumentParser) -> None:
    """The results directory of a sweep that has already started."""
    parser.add_argument("run_dir", type=Path, help="the sweep's results directory (runs/NAME)")
