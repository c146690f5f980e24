"""TPE compares trials where they are comparable. Under Hyperband a trial's epochs say which
bracket it fell into more than how good it is: a poor trial of a late bracket gets far, a
good one of an early bracket waits at a low rung. Ranked by the epochs they reached, the
poor ones passed for the best; compared at the highest milestone enough trials reached (as
BOHB does), the proposals go where the results are good."""

from __future__ import annotations

import numpy as np

from orchestrator.search.space import Box, LogUniform, Space
from orchestrator.search.tpe import Evidence, fidelity, suggest

SPACE = Space({"learning_rate": LogUniform(1e-4, 1.0)})
GOOD, POOR = 1e-3, 1e-1  # unit coordinates 0.25 and 0.75


def _history(rng: np.random.Generator) -> list[Evidence]:
    """24 trials whose bracket is independent of their quality: the good ones (learning
    rate near 1e-3, cost 0.3 at every milestone) all fell into an early bracket and wait
    at rung 3; the poor ones (near 1e-1, cost 1.0) half fell into a late bracket and
    reached rung 9 regardless, half wait at rung 3 too."""
    out = []
    for n in range(1, 25):
        good = n % 2 == 0
        centre = GOOD if good else POOR
        lr = float(centre * 10 ** rng.uniform(-0.25, 0.25))
        cost = (0.3 if good else 1.0) + rng.uniform(0, 0.01)
        late = not good and n % 4 == 1
        at = {1: cost + 0.5, 3: cost, **({9: cost - 0.01} if late else {})}
        out.append(
            Evidence(n, {"learning_rate": lr}, "partial", 9 if late else 3, min(at.values()), at)
        )
    return out


def _proposals(history: list[Evidence]) -> np.ndarray:
    box = Box.full(1)
    rates = [
        suggest(SPACE, {}, box, history, number, seed=number, warmup=10).config["learning_rate"]
        for number in range(25, 45)
    ]
    return np.array([SPACE.params["learning_rate"].to_unit(r) for r in rates])


def test_the_model_compares_trials_at_the_highest_milestone_enough_of_them_reached():
    history = _history(np.random.default_rng(0))
    assert sum(9 in e.at for e in history) == 6  # too few to model at rung 9
    assert fidelity(history, 10) == 3  # all 24 reached rung 3
    assert fidelity(history, 6) == 9
    assert fidelity([], 10) is None


def test_proposals_go_where_results_are_good_whatever_bracket_a_trial_fell_into():
    units = _proposals(_history(np.random.default_rng(0)))
    assert (units < 0.5).mean() >= 0.9  # on the good side of the space, away from the poor


def test_without_milestones_trials_rank_by_the_epochs_they_reached_as_before():
    # what the sampler did before: the poor trials of the late bracket passed for the best
    history = [
        Evidence(e.number, e.config, e.kind, e.epochs, e.value)
        for e in _history(np.random.default_rng(0))
    ]
    units = _proposals(history)
    assert (units > 0.5).mean() >= 0.5  # toward the poor trials that got furthest
