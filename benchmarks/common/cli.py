"""The options every sweep benchmark takes, and its two lives: the parent that measures, and
the child (`--child TASK`) that runs one measurement."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

from benchmarks.common.tasks import ChildTask, answer


def bench_parser(description: str, quick: str, repeat: str, keep: str) -> argparse.ArgumentParser:
    """--quick, --smoke, --repeat, --keep, each with the benchmark's own help, and the
    hidden --child through which it runs its children."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, one repetition, a few rows: checks that it runs, measures nothing",
    )
    parser.add_argument("--repeat", type=int, default=None, help=repeat)
    parser.add_argument("--keep", action="store_true", help=keep)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser


def bench_main(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    kinds: Sequence[type[ChildTask]],
    parent: Callable[[argparse.Namespace], int],
) -> int:
    """Parse the options (--repeat: 3 by default, 1 with --quick or --smoke); then, in a
    child, run the task --child gives, and in the parent, `parent`. Returns the exit code."""
    args = parser.parse_args(argv)
    if args.repeat is None:
        args.repeat = 1 if args.quick or args.smoke else 3
    if args.repeat < 1:
        parser.error(f"--repeat must be an integer >= 1, got {args.repeat}")
    return answer(args.child, kinds) if args.child else parent(args)
