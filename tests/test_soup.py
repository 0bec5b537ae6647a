"""Soups of real trials: LoRA adapters averaged as adapters (A with A, B with B), the average
loaded into a model prepared the same way and evaluated on every language."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from test_training import toy_spec
from xlsearch.training.checkpoint import TRAINABLE_FILE
from xlsearch.training.loop import run_trial
from xlsearch.training.params import TrialParams
from xlsearch.training.soup import average_trainable, final_checkpoint, make_soup


def trained(spec, params, folder: Path) -> Path:
    """Run a trial; keep its last checkpoint in ``folder``."""
    def report(metrics, checkpoint_dir, samples):
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(checkpoint_dir, folder)

    run_trial(spec, params, report=report, log=lambda _: None)
    return folder


def test_lora_adapters_are_averaged_as_adapters_and_the_soup_is_evaluated(tmp_path):
    spec = toy_spec(tmp_path, pivot_languages=[])
    spec = spec.model_copy(update={"training": spec.training.model_copy(update={"rounds": 1})})
    members = [trained(spec, TrialParams(lr=lr, method="adapters", method_params={"rank": 2}), tmp_path / f"m{i}")
               for i, lr in enumerate((1e-3, 5e-3))]
    states = [torch.load(m / TRAINABLE_FILE, weights_only=True) for m in members]
    assert states[0] and all(".lora_A." in n or ".lora_B." in n for n in states[0])  # adapters only
    averaged = average_trainable(members)
    for name in states[0]:
        assert torch.allclose(averaged[name], (states[0][name] + states[1][name]) / 2)
    assert not torch.equal(averaged[next(iter(averaged))], states[0][next(iter(states[0]))])
    found = make_soup(spec, TrialParams(lr=1e-3, method="adapters", method_params={"rank": 2}), members,
                      tmp_path / "soup", log=lambda _: None)
    metrics = found["metrics"]
    assert {"source_dev/rougeL", "target/de/rougeL", "target/es/wrong_language_rate"} <= set(metrics)
    assert torch.equal(torch.load(tmp_path / "soup" / TRAINABLE_FILE, weights_only=True)[next(iter(averaged))],
                       averaged[next(iter(averaged))])


def test_a_soup_refuses_members_of_another_method_or_shape(tmp_path):
    spec = toy_spec(tmp_path)
    spec = spec.model_copy(update={"training": spec.training.model_copy(update={"rounds": 1})})
    a = trained(spec, TrialParams(lr=1e-3, method="adapters", method_params={"rank": 2}), tmp_path / "a")
    b = trained(spec, TrialParams(lr=1e-3, method="adapters", method_params={"rank": 4}), tmp_path / "b")
    with pytest.raises(ValueError, match="other tensors"):
        average_trainable([a, b])
    with pytest.raises(ValueError, match="at least 2"):
        average_trainable([a])


def test_the_final_checkpoint_of_a_run_is_its_last_round(tmp_path):
    import json

    for name, round_ in (("checkpoint_a", 1), ("checkpoint_b", 3), ("checkpoint_c", 2)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "trial.json").write_text(json.dumps({"round": round_}))
        (tmp_path / name / TRAINABLE_FILE).write_bytes(b"x")
    assert final_checkpoint(tmp_path).name == "checkpoint_b"
    assert final_checkpoint(tmp_path / "nothing") is None
