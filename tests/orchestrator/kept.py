"""What a finished sweep should still hold, worked out from its stored curves alone (not from
the scheduler's state): the checkpoints left of a promoting ASHA sweep with one bracket, and
the trials whose models are kept."""

from __future__ import annotations

import math
from collections import defaultdict

from caviar_common.curves import diverged
from caviar_common.states import TrialState
from orchestrator.storage.store import Store


def best_trials(store: Store, metric: str, keep: int, sign: float = 1.0) -> list[tuple[str, int]]:
    """The `keep` best trials as (trial, epoch of its best value): by best value, then the
    earlier epoch, then the lower number; the first epoch that reached the best counts."""
    best: dict[str, tuple[float, int]] = {}
    for p in store.points():
        value = math.nan if p.diverged else p.value(metric)
        if diverged(value):
            continue
        if p.trial_id not in best or sign * value < best[p.trial_id][0]:
            best[p.trial_id] = (sign * value, p.epoch)
    number = {r.trial_id: r.number for r in store.trial_rows()}
    ranked = sorted(best, key=lambda t: (best[t][0], best[t][1], number[t]))
    return [(t, best[t][1]) for t in ranked[:keep]]


def promotable_paused(store: Store, metric: str, eta: float, sign: float = 1.0) -> set[str]:
    """Paused trials next in line at their rung: ranked by their best value up to the rung
    (then by id), as many as floor(n / eta) (at least one) of the n results at that rung."""
    curve: dict[str, dict[int, float]] = defaultdict(dict)
    for p in store.points():
        value = math.nan if p.diverged else p.value(metric)
        if not diverged(value):
            curve[p.trial_id][p.epoch] = sign * value
    rows = store.trial_rows()
    paused: dict[int, list[tuple[float, str]]] = defaultdict(list)
    for row in rows:
        if row.state == TrialState.PAUSED:
            rung = row.epochs
            so_far = min(v for e, v in curve[row.trial_id].items() if e <= rung)
            paused[rung].append((so_far, row.trial_id))
    found: set[str] = set()
    for rung, waiting in paused.items():
        results = sum(1 for c in curve.values() if rung in c)
        share = max(1, math.floor(results / eta + 1e-9))
        found.update(tid for _, tid in sorted(waiting)[:share])
    return found


def checkpoints(store: Store) -> dict[str, int]:
    """trial -> epoch of the checkpoint the store holds for it."""
    return {
        tid: epoch
        for tid in (r.trial_id for r in store.trial_rows())
        if (found := store.checkpoint(tid)) is not None
        for epoch in [found[0]]
    }
