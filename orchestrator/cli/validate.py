"""`caviar validate`, `caviar sample` and `caviar schema`: read a sweep file and say what it
would do, or print the JSON Schema editors check sweep files with."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from orchestrator.cli.args import add_command, add_sweep_file, positive_int

if TYPE_CHECKING:
    from orchestrator.core.planner import Proposal
    from orchestrator.core.spec import SweepSpec


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = add_command(
        commands,
        "validate",
        _validate,
        help="check a sweep file and say what it will do",
        description="Check a sweep file strictly; exit 2 listing every problem found, one "
        "per line. A trainer named in the file is imported, so its module's code runs.",
    )
    add_sweep_file(validate)

    add_command(
        commands,
        "schema",
        _schema,
        help="print the sweep file's JSON Schema, for editors",
        description="Print the JSON Schema (draft-07) of a sweep file on stdout, generated "
        "from the validator's own definitions: every key with its type, default and "
        "description. Point an editor's YAML support at it, e.g. with a first line "
        "'# yaml-language-server: $schema=PATH/sweep.schema.json'.",
    )

    sample = add_command(
        commands,
        "sample",
        _sample,
        help="print the configurations a sweep would try, training nothing",
        description="Print the configurations the first stage of a sweep would try. Later "
        "stages zoom around results, so they are sampled only when the sweep runs.",
    )
    add_sweep_file(sample)
    sample.add_argument(
        "-n",
        type=positive_int,
        dest="count",
        help="how many configurations (default: the first stage's trials)",
    )


def _validate(args: argparse.Namespace) -> int:
    from orchestrator.display.describe import describe_sweep
    from orchestrator.sweepfile.trainers import imported
    from workers.protocol import DEFAULT_TRAINER

    spec, _, caught = _first_stage(args.file, None)
    print(f"{args.file}: ok")
    if spec.trainer != DEFAULT_TRAINER:  # imported by the check above
        ref = imported(spec.trainer)
        where = f"imported from {ref.file}" if ref.file else "imported"
        print(f"  trainer: {spec.trainer} ({where}; its module's code ran to check it)")
    for line in describe_sweep(spec):
        print(f"  {line}")
    for message in caught:
        print(f"  warning: {message}")
    return 0


def _schema(args: argparse.Namespace) -> int:
    from orchestrator.sweepfile.json_schema import schema_text

    sys.stdout.write(schema_text())
    return 0


def _sample(args: argparse.Namespace) -> int:
    from orchestrator.display.describe import proposals_table

    spec, proposals, caught = _first_stage(args.file, args.count)
    for message in caught:  # on stderr, so that stdout stays one table
        print(f"warning: {message}", file=sys.stderr)
    print(proposals_table(proposals, spec.space.dims))
    warm = len(spec.warm_start.first) if spec.warm_start is not None else 0
    first = spec.stages[0].trials
    if first is None and args.count is None:
        print(
            f"(the first {len(proposals)}: trials are open, proposed until the budget "
            f"{'or its share ' if spec.stages[0].share else ''}is spent; -n COUNT for more)"
        )
    asked = warm + (first or 0) if args.count is None else args.count
    # a tpe stage: only its warm-up is known in advance
    if (first is not None or args.count is not None) and len(proposals) < asked:
        known = "the warm start's best" if spec.warm_start else "the tpe sampler's random warm-up"
        print(
            f"(the first {len(proposals)} of {asked}: {known}; the "
            "rest are proposed from results while the sweep runs)"
        )
    if len(spec.stages) > 1:
        later = spec.stages[1:]
        how = (
            "zoom around its results"
            if any(s.zoom_top_k is not None for s in later)
            else "learn from its results (tpe)"
            if any(s.sampler == "tpe" for s in later)
            else "are sampled"
        )
        print(f"(stage 1 of {len(spec.stages)}; later stages {how} when the sweep runs)")
    return 0


def _first_stage(file: Path, count: int | None) -> tuple[SweepSpec, list[Proposal], list[str]]:
    """The sweep in `file`, its first stage's configurations, and what planning warned of.

    Planning is what finds some problems (a grid implies its own number of trials), so
    both commands plan the first stage and show its warnings. A warm start's trials come
    first; after them a tpe stage proposes from the earlier sweep's evidence as it runs,
    so none of its own trials is known in advance.
    """
    from orchestrator.core.planner import first_stage, warm_proposals
    from orchestrator.sweepfile.parse import load_sweep

    spec = load_sweep(file)
    warm = warm_proposals(spec, 0)  # as the loop plans them
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        own = first_stage(spec, None if count is None else max(1, count - len(warm)))
    if spec.warm_start is not None and spec.stages[0].sequential:
        own = []
    proposals = (warm + own)[:count] if count is not None else warm + own
    return spec, proposals, [str(w.message) for w in caught]
