"""The `caviar` command line: the parser, the exit codes, and `main`.

Each group of commands lives in its own module here and holds only arguments; the work is
done by the library it calls. Bad input of any kind (a setting, a dataset, a path) ends
with a message naming what was wrong and exit code 2; nothing already written is touched.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from caviar_common.errors import ConfigError
from orchestrator.cli import cluster, jobs, panda, runs, validate

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 130


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
