"""Caviar in Jupyter: the progress panel updates in place in the cell's output, interrupting
the kernel leaves the sweep to `caviar.resume` as Ctrl-C does, and the example notebook runs.

Each test starts an IPython kernel on this interpreter; its Ray lives under a temp dir of
its own, so the test stops every process the kernel started, and never `ray stop`.
"""

from __future__ import annotations

import queue
import sys
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client import KernelManager
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
from nbclient import NotebookClient

import caviar
from orchestrator.results.run import Run
from orchestrator.storage.store import StoreError
from tests.caviar.sweeps import tiny_sweep
from tests.children import child_ray_env

NOTEBOOK = Path(__file__).parents[2] / "examples" / "quickstart.ipynb"
TRIALS, EPOCHS = 3, 30


class ThisPython(KernelSpecManager):
    """Every kernel name is an IPython kernel on the interpreter running the tests (a
    `python3` kernel spec of the user's own could name another)."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        return KernelSpec(argv=argv, display_name="caviar tests", language="python")


def _epochs(run_dir: Path) -> int:
    """Epochs recorded so far (0 before the store has any)."""
    try:
        return len(caviar.load_run(run_dir).curves)
    except StoreError:  # no store yet, or one still being created
        return 0


def _outputs(kc: BlockingKernelClient, msg_id: str, timeout: float) -> list[dict[str, Any]]:
    """The IOPub messages `msg_id`'s cell sent until its kernel went idle again."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kc.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages
        messages.append(msg)
    raise AssertionError(f"the cell did not end in {timeout} s: {messages[-5:]}")


def _text(messages: list[dict[str, Any]]) -> str:
    """Everything the cell printed, and its error's traceback."""
    parts = []
    for msg in messages:
        content = msg["content"]
        if msg["msg_type"] == "stream":
            parts.append(content["text"])
        elif msg["msg_type"] == "error":
            parts.append("\n".join([content["ename"], *content["traceback"]]))
    return "".join(parts)


def _html(messages: list[dict[str, Any]]) -> list[str]:
    """The HTML the cell displayed or updated in place, in order."""
    return [
        msg["content"]["data"]["text/html"]
        for msg in messages
        if msg["msg_type"] in ("display_data", "update_display_data")
        and "text/html" in msg["content"]["data"]
    ]


@pytest.mark.ray
def test_interrupting_the_kernel_leaves_the_sweep_to_resume(tmp_path: Path) -> None:
    run_dir = tmp_path / "runs" / "kernel"
    sweep = tiny_sweep("kernel", TRIALS, EPOCHS, slow=True)
    run = f"run = caviar.run({sweep!r}, results='runs', workers=2, dashboard=False)"
    with child_ray_env("cvn-") as env:
        km = KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())
        km.start_kernel(cwd=str(tmp_path), env=env)
        try:
            kc = km.blocking_client()
            kc.start_channels()
            kc.wait_for_ready(timeout=60)
            msg_id = kc.execute(f"import caviar\n{run}")
            deadline = time.monotonic() + 240
            while _epochs(run_dir) < 1:
                assert time.monotonic() < deadline, "no epoch recorded in 240 s"
                time.sleep(0.1)
            km.interrupt_kernel()
            interrupted = _outputs(kc, msg_id, timeout=120)
            stopped = caviar.load_run(run_dir)
            assert stopped.state == "interrupted"

            msg_id = kc.execute("run = caviar.resume('runs/kernel', dashboard=False)\nrun.state")
            resumed = _outputs(kc, msg_id, timeout=300)
            kc.stop_channels()
        finally:
            km.shutdown_kernel(now=True)
    said = _text(interrupted)
    assert "KeyboardInterrupt" in said
    assert "continue with caviar.resume('runs/kernel')" in said
    shown = _html(interrupted)
    assert shown and "caviar · kernel" in shown[-1]  # the panel, in the cell's output
    assert all(m["msg_type"] != "error" for m in resumed), _text(resumed)
    assert any("'finished'" in str(m["content"].get("data")) for m in resumed)
    done: Run = caviar.load_run(run_dir)
    assert done.state == "finished"
    assert set(done.trials["state"]) == {"completed"}  # fifo: every trial to the budget
    assert list(done.trials["epochs"]) == [EPOCHS] * TRIALS
    assert len(done.curves) == TRIALS * EPOCHS  # each epoch once, resumed or not
    key = ["trial_id", "epoch"]
    kept = stopped.curves.merge(done.curves, on=key, suffixes=("", "_after"))
    assert len(kept) == len(stopped.curves)  # what was recorded before the interrupt stays
    assert kept["val_cost_after"].to_numpy() == pytest.approx(kept["val_cost"].to_numpy())


def test_the_example_notebook_is_committed_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code, "the example has no code"
    for cell in code:
        assert cell.outputs == [] and cell.execution_count is None, cell.source


@pytest.mark.ray
def test_the_example_notebook_runs_and_shows_progress_and_plots(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    with child_ray_env("cvn-") as env:
        km = KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())
        client = NotebookClient(notebook, km=km, timeout=300, record_timing=False)
        client.execute(cwd=str(tmp_path), env=env)  # raises CellExecutionError on an error
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    html = [out["data"]["text/html"] for out in outputs if "text/html" in out.get("data", {})]
    assert any("caviar · quickstart" in page for page in html)  # the live panel
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 3  # the three plots
    run = caviar.load_run(tmp_path / "runs" / "quickstart")
    assert run.state == "finished" and len(run.trials) == 8
