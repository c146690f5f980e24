"""The `caviar` command line: the parser, the exit codes, and `main`.

Each group of commands lives in its own module here and holds only arguments; the work is
done by the library it calls. Bad input of any kind (a setting, a dataset, a path: an
`InputError`, or a `StoreError` for a results directory that cannot be used as asked) ends
with one line naming what was wrong and exit code 2; nothing already written is touched.
Any other exception is not the user's mistake: its traceback is printed and the exit code
is 1, so a bug is never reported as bad input.
"""

from __future__ import annotations

import argparse
import gc
import sys
import traceback
from collections.abc import Sequence

from caviar_common.errors import CaviarError, InputError
from orchestrator.cli import cluster, jobs, panda, runs, validate
from orchestrator.storage.store_error import StoreError

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130
# What exits 2 with one line: the user's input, or a results directory that cannot be used
# as asked ("no sweep in PATH", "holds a finished sweep"). Every other error, a CaviarError
# such as ClusterError (`ray start` failed) included, keeps its traceback and exits 1.
BAD_INPUT: tuple[type[CaviarError], ...] = (InputError, StoreError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="caviar",
        description="Tune neural networks caviar-style: many models in parallel, keep the best.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    panda.add_commands(commands)
    validate.add_commands(commands)
    runs.add_commands(commands)
    jobs.add_commands(commands)
    cluster.add_commands(commands)
    return parser


def entry() -> None:
    """The `caviar` console command: `main`, then exit. Every object lives until then, so
    they are moved out of the collector's reach first: Python's last collection over the
    objects of a 10,000-trial report took longer than computing a section of it."""
    code = main()
    gc.freeze()
    sys.exit(code)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `caviar` command `argv` (default: sys.argv[1:]) and return its exit code:
    0 done, 1 failed (a traceback on stderr), 2 bad input (one line on stderr), 130
    interrupted; a command may give its own 1 (`caviar status`: no cluster is up)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except BAD_INPUT as err:
        print(f"caviar {args.command}: error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print(
            f"caviar {args.command}: interrupted; results written so far are kept", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    except Exception as err:  # not the input's fault: show where it happened
        traceback.print_exc()
        print(
            f"caviar {args.command}: failed with {type(err).__name__} (not a problem with "
            "the input; the traceback above shows where)",
            file=sys.stderr,
        )
        return EXIT_FAILED
