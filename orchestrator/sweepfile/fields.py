"""The sweep file's keys as one declarative table: type, default, limits and a description.

The validator (orchestrator/sweepfile/parse.py) checks a value with `Field.check`, and the JSON
Schema (orchestrator/sweepfile/json_schema.py, `caviar schema`) is generated from the same fields,
so a default or a limit is written once and the two cannot drift apart.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from caviar_common.bounds import Bound
from caviar_common.errors import InputError, suggest
from orchestrator.core.spec import DIRECTIONS, METRICS
from orchestrator.search.proposed_by import WARMUP
from orchestrator.search.samplers import SAMPLERS
from workers.protocol import DEFAULT_TRAINER, TRAINER_NAME

MAX_EPOCHS = 100_000  # per trial
MAX_TRIALS = 1_000_000  # per stage, in all stages together, and in a grid
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # a directory name
METRIC_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"  # a metric a custom trainer reports
NOT_BLANK = r"\S"


class FieldError(InputError):
    """A value that breaks its field's rule, before its path is known: the message starts
    at "must be" (`checks.value` gives it the entry's path)."""

    def __init__(self, rule: str) -> None:
        super().__init__("", rule)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.rule,))


@dataclass(frozen=True)
class Field:
    """One key of the sweep file: what it holds, its default, and what it is for.

    `kind` is "integer", "number" or "string" for a value checked here, "section" for one
    the validator checks by its own code (a mapping, a list, a parameter). A pattern is
    searched for (as JSON Schema does), so an anchored one must say ^...$.
    """

    help: str
    kind: str = "section"
    default: Any = None  # None: no default
    bound: Bound = field(default_factory=Bound)
    unit: str = ""  # "seconds": said as "a number of seconds > 0"
    pattern: str | None = None
    says_pattern: str = ""  # how to say what the pattern asks for
    only_for: str | None = None  # a sampler's field: the one sampler that takes it
    nullable: bool = False  # null is taken as "not given" (time_limit: null, no limit)

    @property
    def says(self) -> str:
        """The rule in words, as error messages give it ("an integer from 1 to 100000")."""
        if self.kind == "string":
            if self.bound.options:
                return f"one of {', '.join(map(str, self.bound.options))}"
            return self.says_pattern or "a string"
        noun = ("an integer" if self.kind == "integer" else "a number") + (
            f" of {self.unit}" if self.unit else ""
        )
        b = self.bound
        low = b.minimum if b.minimum is not None else b.exclusive_minimum
        high = b.maximum if b.maximum is not None else b.exclusive_maximum
        if low is not None and high is not None:
            if self.kind == "integer" and b.minimum is not None and b.maximum is not None:
                return f"{noun} from {_fmt(low)} to {_fmt(high)}"
            left = "[" if b.minimum is not None else "("
            right = "]" if b.maximum is not None else ")"
            return f"{noun} in {left}{_fmt(low)}, {_fmt(high)}{right}"
        if low is not None:
            return f"{noun} {'>=' if b.minimum is not None else '>'} {_fmt(low)}"
        if high is not None:
            return f"{noun} {'<=' if b.maximum is not None else '<'} {_fmt(high)}"
        return noun

    def check(self, value: Any) -> Any:
        """The value, normalised (an integral float to int, a number to float); a
        FieldError saying the rule and the value otherwise."""
        if self.kind == "integer":
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not self.bound(value):
                raise FieldError(f"must be {self.says}, got {value!r}")
            return value
        if self.kind == "number":
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or not self.bound(value)
            ):
                raise FieldError(f"must be {self.says}, got {value!r}")
            return float(value)
        if self.kind == "string":
            options = self.bound.options
            if options and value not in options:
                raise FieldError(
                    f"must be {self.says}, got {value!r}{suggest(str(value), list(options))}"
                )
            if not isinstance(value, str) or (
                self.pattern is not None and not re.search(self.pattern, value)
            ):
                raise FieldError(f"must be {self.says}, got {value!r}")
            return value
        return value


def _fmt(number: float) -> str:
    return str(number) if isinstance(number, int) else f"{number:g}"


def _trials(help: str) -> Field:
    return Field(help, "integer", 20, Bound(minimum=1, maximum=MAX_TRIALS))


TOP: dict[str, Field] = {
    "name": Field(
        "The sweep's name: its results go to RESULTS/NAME. Required.",
        "string",
        pattern=NAME_PATTERN,
        says_pattern="letters, digits, '_', '.' or '-' (a directory name)",
    ),
    "dataset": Field(
        "A built-in dataset (digits, breast_cancer, ...; options as 'name:rows=500'), a "
        ".csv/.parquet/.npz file (relative to this file), or {path: FILE, label: COLUMN}.",
        default="digits",
    ),
    "val_fraction": Field(
        "The share of rows held out for validation (a stratified split).",
        "number",
        0.2,
        Bound(exclusive_minimum=0, exclusive_maximum=1),
    ),
    "test_fraction": Field(
        "The share of all rows held out from training and validation (a stratified split), "
        "to score the sweep's kept models once at the end; 0 for none. val_fraction + "
        "test_fraction must be < 1.",
        "number",
        0,
        Bound(minimum=0, exclusive_maximum=1),
    ),
    "seed": Field(
        "The master seed: the same seed gives the same sweep.",
        "integer",
        0,
        Bound(minimum=0),
    ),
    "metric": Field(
        "The metric to optimise: val_cost, val_accuracy or train_cost; with a trainer of "
        "your own, any name its step() reports.",
        "string",
        "val_cost",
        Bound(options=tuple(METRICS)),
    ),
    "direction": Field(
        "minimize or maximize; by default the metric's own (maximize for val_accuracy). "
        "Required for a metric only your trainer knows.",
        "string",
        bound=Bound(options=DIRECTIONS),
    ),
    "trainer": Field(
        "The class each trial trains, as 'module:Class' (a module next to this file or "
        "importable); it needs step(), state_dict() and load_state_dict(). Default: the "
        "built-in batch-norm MLP.",
        "string",
        DEFAULT_TRAINER,
        pattern=TRAINER_NAME.pattern,  # imported by the validator (sweepfile/trainers.py)
    ),
    "model": Field(
        "Settings fixed for every trial. With the built-in trainer: the MLP's settings; "
        "with your own trainer: any settings it reads.",
        default={},
    ),
    "space": Field(
        "The hyperparameters to sample: setting name -> parameter (a mapping with a type, "
        "a list for a choice, or a bare value for a constant). Required."
    ),
    "sampler": Field(
        "How the trials of a stage are placed: random, sobol, grid or tpe, or "
        "{name: ..., points: N} / {name: tpe, warmup: N}.",
        default="random",
    ),
    "stages": Field(
        "Stages run one after another, each with its trials, sampler and an optional zoom "
        "around the best trials of the stage before. Default: one stage of budget.trials.",
        nullable=True,
    ),
    "warm_start": Field(
        "Start from an earlier sweep of the same metric: {from: RUN_DIR, top_k: K}. Its "
        "trials that lie in this space are evidence for the tpe sampler, and its K best "
        "configurations there are trained first, besides the first stage's own trials.",
        nullable=True,
    ),
    "scheduler": Field(
        "Early stopping: fifo (none), asha, median or hyperband, or a mapping with name "
        "and settings.",
        default="fifo",
    ),
    "budget": Field("Trials, epochs per trial and an optional time limit.", default={}),
    "resources": Field("What each trial gets.", default={}),
    "results": Field(
        "The folder the sweep's results go in (as RESULTS/NAME), relative to the working "
        "directory.",
        "string",
        "runs",
        pattern=NOT_BLANK,
        says_pattern="a directory path",
    ),
    "keep": Field(
        "How many trained models the sweep keeps: the best trials' weights, each at the "
        "epoch of its best value (caviar export, load_run(...).best_model()); 0 keeps none.",
        "integer",
        3,
        Bound(minimum=0, maximum=1000),
    ),
}
TOP_KEYS = tuple(TOP)
# `metric:` with a trainer of one's own: any name its step() reports
CUSTOM_METRIC = Field(
    TOP["metric"].help,
    "string",
    TOP["metric"].default,
    pattern=METRIC_PATTERN,
    says_pattern="a name of letters, digits and '_' that does not start with a digit",
)
REQUIRED = ("name", "space")

BUDGET: dict[str, Field] = {
    "trials": _trials(
        "Trials in a stage that does not give its own (default 20). Left out with a budget "
        "by compute (epochs or time_limit), trials are open: proposed until it is spent."
    ),
    "max_epochs": Field(
        "Epochs a trial trains at most.", "integer", 30, Bound(minimum=1, maximum=MAX_EPOCHS)
    ),
    "epochs": Field(
        "Epochs all trials together train at most (at least max_epochs); none by default.",
        "integer",
        bound=Bound(minimum=1, maximum=MAX_EPOCHS * MAX_TRIALS),
        nullable=True,
    ),
    "time_limit": Field(
        "Seconds the sweep runs, over all its runs (a resume goes on with the time left): "
        "then no trial starts and running ones stop; none by default.",
        "number",
        bound=Bound(exclusive_minimum=0),
        unit="seconds",
        nullable=True,
    ),
}
RESOURCES: dict[str, Field] = {
    "cpus_per_trial": Field(
        "CPUs each trial reserves (a fraction packs several trials on a core).",
        "number",
        1,
        Bound(exclusive_minimum=0),
    ),
    "gpus_per_trial": Field(
        "GPUs each trial reserves: a fraction below 1 packs trials on one GPU (0.5: two "
        "per device), above 1 a whole number. The trial sees its device through "
        "CUDA_VISIBLE_DEVICES.",
        "number",
        0,
        Bound(minimum=0),
    ),
    "memory_per_trial": Field(
        "Memory each trial reserves, in bytes or with a unit ('4GiB', '512MB'); none by default.",
        nullable=True,
    ),
    "custom": Field(
        "A cluster's own resources each trial reserves, by name: {spot: 1}, or a node "
        "label such as {'accelerator_type:A100': 0.01}; none by default.",
    ),
}
SAMPLER: dict[str, Field] = {
    "name": Field("The sampler.", "string", bound=Bound(options=SAMPLERS)),
    "points": Field(
        "Grid: points per dimension (a choice: all its values).",
        "integer",
        3,
        Bound(minimum=1, maximum=MAX_TRIALS),
        only_for="grid",
    ),
    "warmup": Field(
        "TPE: random trials before proposals learn from results.",
        "integer",
        WARMUP,
        Bound(minimum=0),
        only_for="tpe",
    ),
}
STAGE: dict[str, Field] = {
    "trials": _trials("Trials in this stage (default: budget.trials)."),
    "share": Field(
        "With trials open: the share of the budget after which this stage starts no new "
        "trial, counted from the end of the shares before it; the last stage without one "
        "takes the rest.",
        "number",
        bound=Bound(exclusive_minimum=0, maximum=1),
    ),
    "sampler": Field("This stage's sampler (default: the top-level sampler)."),
    "zoom": Field(
        "Sample inside a box around the best trials of the stage before (not on the first stage)."
    ),
}
ZOOM: dict[str, Field] = {
    "top_k": Field(
        "How many of the best trials the box surrounds.", "integer", 5, Bound(minimum=1)
    ),
    "shrink": Field(
        "Each range at most this share of its width before.",
        "number",
        0.5,
        Bound(exclusive_minimum=0, maximum=1),
    ),
}
WARM_START: dict[str, Field] = {
    "from": Field(
        "The earlier sweep's run directory (RESULTS/NAME, holding its sweep.db), relative "
        "to this file. Required.",
        "string",
        pattern=NOT_BLANK,
        says_pattern="a directory path",
    ),
    "top_k": Field(
        "How many of its best configurations in this space to train first (0: none, its "
        "trials are evidence only).",
        "integer",
        5,
        Bound(minimum=0, maximum=MAX_TRIALS),
    ),
}

SAMPLER_HELP: dict[str, str] = {
    "random": "independent uniform draws",
    "sobol": "scrambled Sobol' points: even coverage of the space",
    "grid": "every combination of `points` values per dimension",
    "tpe": "tree-structured Parzen estimator: proposes from results after a random warm-up",
}
SCHEDULER_HELP: dict[str, str] = {
    "fifo": "every trial trains to budget.max_epochs",
    "asha": "asynchronous successive halving: weak trials stop (or pause) at rungs",
    "median": "stop a trial whose result is worse than the median of others at that epoch",
    "hyperband": "asynchronous Hyperband: ASHA over several brackets of grace periods",
}
PARAM_HELP: dict[str, str] = {
    "uniform": "a number, evenly spread in [low, high]",
    "log_uniform": "a number whose log is uniform (a learning rate): 0 < low < high",
    "one_minus_log_uniform": "1 - value log-uniform (a momentum beta): 0 <= low < high < 1",
    "int_uniform": "every integer in [low, high] equally likely",
    "log_int": "integers whose log is uniform: 1 <= low < high",
    "power_of_two": "powers of two from low to high (batch sizes): 32, 64, 128, ...",
    "choice": "one of `values`, each equally likely",
    "constant": "a fixed `value`",
}
WHEN_HELP = (
    "Sample this parameter only when other settings take these values, e.g. "
    "{optimizer: adam} or {optimizer: [momentum, adam]}."
)
