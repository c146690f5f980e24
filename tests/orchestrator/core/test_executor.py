"""How the Ray executor sizes the runs of epochs it sends, and how it says a worker died:
pure helpers, no Ray."""

from __future__ import annotations

import pytest

from orchestrator.core.executor import chunk_epochs, lost_worker_line


@pytest.mark.parametrize(
    ("seconds", "sent_before", "left", "expected"),
    [
        (None, 0, 30, 1),  # nothing measured yet: one epoch
        (0.01, 0, 30, 5),  # a trial's first run: 0.05 s / 0.01 s
        (0.01, 1, 30, 10),  # then 0.1 s
        (0.01, 2, 30, 20),  # 0.2 s
        (0.01, 3, 30, 25),  # 0.4 s, capped at 0.25 s
        (0.01, 3, 7, 7),  # no more than it has left
        (1.0, 5, 30, 1),  # epochs longer than a run: one at a time
        (1e-5, 0, 500, 100),  # 0.05 s / 1e-5 s = 5,000, capped at 100 a call
        (0.01, 0, 0, 0),
    ],
)
def test_a_run_of_epochs_lasts_about_a_quarter_second(seconds, sent_before, left, expected):
    assert chunk_epochs(seconds, sent_before, left) == expected


def test_a_lost_worker_is_one_line_with_rays_exit_type_or_reason():
    # the texts Ray 2.x gives for a SIGKILLed worker and for ray.kill, shortened
    killed = (
        "The actor died unexpectedly before finishing this task.\n\tclass_name: TrialWorker\n"
        "\tpid: 15536\nThe actor is dead because its worker process has died. Worker exit "
        "type: SYSTEM_ERROR Worker exit detail: Worker unexpectedly exits with a connection "
        "error code 2. End of file. Some common causes include: (1) the process was killed"
    )
    assert lost_worker_line("caviar-worker-2", "4e46d283c237aa01", killed) == (
        "caviar-worker-2 on node 4e46d283c237, SYSTEM_ERROR"
    )
    by_ray = "The actor died unexpectedly.\nThe actor is dead because it was killed by `ray.kill`."
    assert lost_worker_line("caviar-worker-1", "", by_ray) == (
        "caviar-worker-1 on node ?, killed by ray.kill"
    )
    assert lost_worker_line("w", "n", "no words Ray uses") == "w on node n, no reason given"
