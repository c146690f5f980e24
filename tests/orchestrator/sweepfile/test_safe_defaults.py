"""What a malicious or careless file cannot do: run code through YAML tags or pickles."""

from __future__ import annotations

import io

import numpy as np
import pytest

from orchestrator.sweepfile.parse import SweepError, load_sweep
from workers.mlp.trainer import state_from_bytes


def test_a_sweep_file_with_a_python_tag_is_refused_not_executed(tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.yaml"
    path.write_text(
        "name: evil\n"
        f"seed: !!python/object/apply:os.system ['touch {marker}']\n"
        "space: {learning_rate: {type: log_uniform, low: 0.001, high: 0.1}}\n"
    )
    with pytest.raises(SweepError, match="not valid YAML"):
        load_sweep(path)
    assert not marker.exists()


def test_a_checkpoint_holding_a_pickled_object_is_refused():
    buffer = io.BytesIO()
    np.savez(buffer, params=np.zeros(3), evil=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="allow_pickle"):
        state_from_bytes(buffer.getvalue())
