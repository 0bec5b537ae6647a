"""The wrong-language stopper on hand-built sequences of reports, through the schedulers the sweep
uses (Tune's ASHA and FIFO with the decisions kept in the sweep folder): it ends exactly the
trials whose round is above the threshold, keeps them out of ASHA's rungs, and its decisions
survive a restart of the driver."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from ray.tune.experiment import Trial
from ray.tune.schedulers import TrialScheduler

from xlsearch import keys
from xlsearch.sweep.decision_log import answers_in_the_wrong_language, read_decisions, wrong_language_stops
from xlsearch.sweep.decisions import KeptASHA, KeptFIFO
from xlsearch.sweep.repeat import WrongLanguageFloor

OBJ = "source_dev/rougeL"
WRONG = keys.target_mean(keys.WRONG_LANGUAGE_RATE)
CONTINUE, STOP = TrialScheduler.CONTINUE, TrialScheduler.STOP


class FakeTrial:
    def __init__(self, trial_id: str):
        self.trial_id, self.status, self.last_result = trial_id, Trial.PENDING, {}
        self.config = {"lr": 1e-3, "method": "full"}

    def update_last_result(self, result):
        self.last_result = result


class FakeController:
    """What the schedulers call on Tune's controller: the trials, and stop_trial."""

    def __init__(self, trials):
        self.trials, self.stopped = trials, []

    def get_trials(self):
        return self.trials

    def stop_trial(self, trial):
        self.stopped.append(trial.trial_id)
        trial.status = Trial.TERMINATED


def result(round_, source, wrong):
    return {keys.ROUND: round_, OBJ: source, WRONG: wrong}


def test_the_rule_is_strictly_above_the_threshold_and_ignores_what_is_not_a_rate():
    assert answers_in_the_wrong_language({WRONG: 0.51}, 0.5)
    assert not answers_in_the_wrong_language({WRONG: 0.5}, 0.5)
    assert not answers_in_the_wrong_language({WRONG: math.nan}, 0.5)
    assert not answers_in_the_wrong_language({}, 0.5)
    assert not answers_in_the_wrong_language({WRONG: 0.9}, None)
    assert not answers_in_the_wrong_language({WRONG: True}, 0.5)


@pytest.mark.parametrize("kind", ["fifo", "asha"])
def test_the_stopper_ends_exactly_the_trials_above_the_threshold(tmp_path, kind):
    path = tmp_path / "decisions.jsonl"
    args = dict(stop_wrong_language_above=0.5)
    scheduler = (KeptFIFO(path, **args) if kind == "fifo" else
                 KeptASHA(path, **args, time_attr=keys.ROUND, metric=OBJ, mode="max", max_t=3, grace_period=3))
    controller = FakeController([])
    reports = {  # trial -> its rounds' (source score, mean wrong-language rate)
        "ok": [(50, 0.1), (60, 0.2), (70, 0.3)],
        "at_threshold": [(50, 0.5), (55, 0.5), (60, 0.5)],
        "late": [(80, 0.2), (85, 0.6), (90, 0.9)],
        "first": [(95, 0.9), (96, 0.9), (97, 0.9)],
        "no_rate": [(40, math.nan), (45, math.nan), (50, math.nan)],
    }
    trials = {name: FakeTrial(name) for name in reports}
    for trial in trials.values():
        scheduler.on_trial_add(controller, trial)
    decisions = {name: [] for name in reports}
    for round_ in range(3):
        for name, rounds in reports.items():
            if decisions[name] and decisions[name][-1] == STOP:
                continue
            decisions[name].append(scheduler.on_trial_result(controller, trials[name], result(round_ + 1, *rounds[round_])))
    assert decisions["late"] == [CONTINUE, STOP] and decisions["first"] == [STOP]
    assert STOP not in decisions["ok"][:2] and STOP not in decisions["at_threshold"][:2] and STOP not in decisions["no_rate"][:2]
    assert wrong_language_stops(read_decisions(path)) == {"late", "first"}


def test_a_stopped_trial_leaves_ashas_rungs(tmp_path):
    """A trial that answers in English can have the best source score: it must not raise the bar
    for the others at a rung."""
    scheduler = KeptASHA(tmp_path / "d.jsonl", stop_wrong_language_above=0.5, time_attr=keys.ROUND, metric=OBJ,
                         mode="max", max_t=4, grace_period=1, reduction_factor=2)
    controller = FakeController([])
    english, honest = FakeTrial("english"), FakeTrial("honest")
    for trial in (english, honest):
        scheduler.on_trial_add(controller, trial)
    assert scheduler.on_trial_result(controller, english, result(1, 95, 0.9)) == STOP
    scheduler.on_trial_complete(controller, english, result(1, 95, 0.9))
    assert scheduler.on_trial_result(controller, honest, result(1, 50, 0.0)) == CONTINUE
    without = KeptASHA(tmp_path / "e.jsonl", time_attr=keys.ROUND, metric=OBJ, mode="max", max_t=4, grace_period=1,
                       reduction_factor=2)  # no stopper: the English trial sets the bar
    for trial in (FakeTrial("english"), FakeTrial("honest")):
        without.on_trial_add(controller, trial)
    without.on_trial_result(controller, FakeTrial("english"), result(1, 95, 0.9))
    assert without.on_trial_result(controller, FakeTrial("honest"), result(1, 50, 0.0)) == STOP


def test_the_decision_survives_a_restart_of_the_driver(tmp_path):
    path = tmp_path / "d.jsonl"
    first = KeptFIFO(path, stop_wrong_language_above=0.5)
    controller = FakeController([])
    trial = FakeTrial("english")
    first.on_trial_add(controller, trial)
    assert first.on_trial_result(controller, trial, result(1, 95, 0.9)) == STOP
    # The driver dies before Tune saves that the trial ended: Tune restores it as pending.
    again = KeptFIFO(path, stop_wrong_language_above=0.5)
    restored = FakeTrial("english")
    restored.last_result = {keys.ROUND: 0}
    controller = FakeController([restored])
    again.on_trial_add(controller, restored)
    again.choose_trial_to_run(controller)
    assert controller.stopped == ["english"] and restored.last_result[keys.ROUND] == 1
    assert restored.last_result[WRONG] == 0.9 and restored.last_result["config"] == restored.config


def test_the_searcher_is_told_the_floor_for_a_trial_the_stopper_ended():
    told = {}
    inner = SimpleNamespace(metric=OBJ, mode="max",
                            on_trial_complete=lambda trial_id, result=None, error=False: told.update({trial_id: result}))
    floor = WrongLanguageFloor.__new__(WrongLanguageFloor)
    floor.searcher, floor.threshold = inner, 0.5
    floor.on_trial_complete("english", result(2, 95, 0.9))
    floor.on_trial_complete("honest", result(2, 60, 0.1))
    assert told["english"][OBJ] == 0.0 and told["english"][WRONG] == 0.9
    assert told["honest"][OBJ] == 60
