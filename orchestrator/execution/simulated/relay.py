"""A scheduler that passes every call on to another: subclass it to watch a scheduler inside
a simulated sweep (what it is shown, how long it takes) without changing what it decides."""

from __future__ import annotations

from orchestrator.schedulers import Decision, Scheduler


class Relay(Scheduler):
    """Decides exactly as `inner`, which also keeps the count of decisions."""

    def __init__(self, inner: Scheduler) -> None:
        self.inner = inner
        super().__init__(inner.sign)
        self.name = inner.name

    @property
    def decisions(self) -> int:
        return self.inner.decisions

    @decisions.setter
    def decisions(self, value: int) -> None:
        """Ignored: the base class sets its own count, but `inner` counts."""

    def on_start(self, trial_id: str) -> None:
        self.inner.on_start(trial_id)

    def on_result(self, trial_id: str, epoch: int, value: float) -> Decision:
        return self.inner.on_result(trial_id, epoch, value)

    def may_stop(self, epoch: int) -> bool:
        return self.inner.may_stop(epoch)

    @property
    def rung_epochs(self) -> frozenset[int]:
        return self.inner.rung_epochs

    def promote(self, finishing: bool = False) -> str | None:
        return self.inner.promote(finishing)

    def resumed(self, trial_id: str) -> None:
        self.inner.resumed(trial_id)

    def on_complete(self, trial_id: str) -> None:
        self.inner.on_complete(trial_id)

    def on_failed(self, trial_id: str) -> None:
        self.inner.on_failed(trial_id)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.inner!r})"
