"""The selection rules beyond the source dev score, on hand-built frames whose right answers are
known: lid_aware on label-free rates, pivot_dev, few_shot_target, soup; ties, a trial stopped
for answering in the wrong language, a diverged trial; a rule that reads no target label cannot
read one; regret over seeds; the Pareto front."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xlsearch import keys
from xlsearch.selection import (SELECTION_RULES, Rule, Setting, choose, pareto_front, regret_over_seeds, select_all,
                                soup_plans)

OBJ = "source_dev/rougeL"
LANGS = ["de", "ru"]


def row(trial_id, lr, source, target, *, wrong=0.0, pivot=math.nan, few=math.nan, method="full", it="none",
        seed=None, diverged=0, stopped=0, round_=2):
    """One trial's compared round: ``target`` its score on both target languages (held-out
    examples), ``few`` on the few-shot ones, ``pivot`` on the pivot language."""
    r = {"trial_id": trial_id, "lr": lr, "method": method, "intermediate_tuning": it, "round": round_,
         "diverged": diverged, keys.STOPPED_WRONG_LANGUAGE: stopped, OBJ: source,
         keys.target_mean(keys.WRONG_LANGUAGE_RATE): wrong, keys.target_mean("rougeL"): target,
         keys.pivot("es", "rougeL"): pivot, keys.pivot_mean("rougeL"): pivot}
    for lang in LANGS:
        r[keys.target(lang, "rougeL")] = target
        r[keys.target(lang, keys.WRONG_LANGUAGE_RATE)] = wrong
        r[keys.few_shot(lang, "rougeL")] = few
    if seed is not None:
        r[keys.SEED] = seed
    return r


def choices(rows, soups=None, threshold=0.2):
    return select_all(pd.DataFrame(rows), OBJ, "rougeL", LANGS, threshold, soups)


def test_each_rule_picks_what_it_reads():
    rows = [
        row("hi", 1e-3, source=95, target=10, wrong=0.9, pivot=20, few=12),   # best English, answers in English
        row("mid", 3e-4, source=90, target=40, wrong=0.1, pivot=45, few=38),
        row("lo", 1e-4, source=80, target=45, wrong=0.0, pivot=35, few=47),  # best on the targets
    ]
    c = choices(rows)
    assert {rule: c[rule].trial_id for rule in c} == {
        "source_dev": "hi", "lid_aware": "mid", "pivot_dev": "mid", "few_shot_target": "lo", "oracle": "lo",
        "soup": None}
    assert c["soup"].note.startswith("no soup")
    assert c["pivot_dev"].mean_target == 40  # the choice's scores come from the whole row


def test_a_trial_stopped_for_wrong_language_or_diverged_is_never_chosen_by_any_rule():
    rows = [row("stopped", 1e-3, source=99, target=90, wrong=0.8, pivot=99, few=99, stopped=1),
            row("diverged", 1e-2, source=99, target=99, pivot=99, few=99, diverged=1),
            row("ok", 1e-4, source=50, target=30, pivot=30, few=30)]
    c = choices(rows)
    assert {choice.trial_id for choice in c.values() if choice.trial_id} == {"ok"}


def test_ties_go_to_the_lower_lr_then_the_lower_trial_id_whatever_the_order():
    rows = [row("b", 1e-3, source=50, target=20, pivot=30, few=30), row("a", 1e-4, source=50, target=20, pivot=30,
                                                                        few=30),
            row("c", 1e-4, source=50, target=20, pivot=30, few=30)]
    for order in (rows, rows[::-1]):
        c = choices(order)
        assert all(c[rule].trial_id == "a" for rule in ("source_dev", "lid_aware", "pivot_dev", "few_shot_target"))


def test_rules_that_read_no_target_label_choose_the_same_when_every_target_label_is_scrambled():
    rng = np.random.default_rng(0)
    rows = [row(f"t{i}", lr, source=float(rng.uniform(50, 99)), target=float(rng.uniform(0, 60)),
                wrong=float(rng.uniform(0, 0.5)), pivot=float(rng.uniform(0, 60)), few=float(rng.uniform(0, 60)))
            for i, lr in enumerate([1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3])]
    frame = pd.DataFrame(rows)
    before = select_all(frame, OBJ, "rougeL", LANGS, 0.3)
    scrambled = frame.copy()
    for column in frame.columns:
        level = keys.target_labels_read(column)
        if level == keys.TARGET_LABELS:
            scrambled[column] = frame[column].to_numpy()[::-1]  # every target label moved to another trial
        if level == keys.FEW_TARGET_LABELS:
            scrambled[column] = np.nan
    after = select_all(scrambled, OBJ, "rougeL", LANGS, 0.3)
    for rule, r in SELECTION_RULES.items():
        if r.zero_shot:
            assert after[rule].trial_id == before[rule].trial_id, rule
    assert after["oracle"].trial_id != before["oracle"].trial_id  # the scrambling bites


def test_a_rule_sees_only_the_columns_it_may_read(monkeypatch):
    seen = {}

    def spy(name):
        def score(rows, setting):
            seen[name] = set(rows.columns)
            return rows[setting.objective]
        return score

    for name, reads in (("zs", keys.NO_TARGET_LABEL), ("fs", keys.FEW_TARGET_LABELS)):
        monkeypatch.setitem(SELECTION_RULES, name, Rule(spy(name), reads=reads))
    choices([row("a", 1e-4, source=50, target=20, pivot=30, few=30)])
    assert keys.target("de", "rougeL") not in seen["zs"] and keys.few_shot("de", "rougeL") not in seen["zs"]
    assert keys.target("de", keys.WRONG_LANGUAGE_RATE) in seen["zs"] and keys.pivot_mean("rougeL") in seen["zs"]
    assert keys.few_shot("de", "rougeL") in seen["fs"] and keys.target_mean("rougeL") not in seen["fs"]


def test_the_soup_rule_chooses_among_the_groups_soups_by_source_score_and_can_beat_the_oracle():
    rows = [row("a", 1e-4, source=80, target=30), row("b", 1e-3, source=85, target=20)]
    soups = pd.DataFrame([{**row("soup_x", math.nan, source=84, target=38), "soup_of": "a,b"},
                          {**row("soup_y", math.nan, source=70, target=50), "soup_of": "a,b"}])
    c = choices(rows, soups)
    assert c["soup"].trial_id == "soup_x" and c["soup"].lr is None and c["soup"].mean_target == 38
    from xlsearch.selection import regret

    assert regret(c["soup"], c["oracle"]) == pytest.approx(30 - 38)  # negative: better than every trial


def test_soup_plans_take_the_best_k_of_each_group_and_seed_by_source_score():
    rows = []
    for seed in (0, 1):
        rows += [row(f"f{seed}a", 1e-4, source=80 + seed, target=10, seed=seed),
                 row(f"f{seed}b", 3e-4, source=90, target=10, seed=seed),
                 row(f"f{seed}c", 1e-3, source=70, target=10, seed=seed),
                 row(f"x{seed}", 1e-3, source=99, target=10, seed=seed, diverged=1),
                 row(f"s{seed}", 1e-2, source=99, target=10, seed=seed, stopped=1),
                 row(f"a{seed}", 1e-3, source=60, target=10, method="adapters", seed=seed)]  # a group of one
    plans = soup_plans(pd.DataFrame(rows), OBJ, top_k=2)
    assert [(p["config"]["method"], p["config"][keys.SEED], p["members"]) for p in plans] == [
        ("full", 0, ["f0b", "f0a"]), ("full", 1, ["f1b", "f1a"])]
    assert plans[0]["soup_id"] != plans[1]["soup_id"]
    assert [p["soup_id"] for p in soup_plans(pd.DataFrame(rows[::-1]), OBJ, top_k=2)] == [p["soup_id"] for p in plans]


def test_the_pareto_front_of_a_hand_built_set():
    rows = pd.DataFrame([row("A", 1e-4, source=90, target=0, wrong=0.10),
                         row("B", 1e-4, source=80, target=0, wrong=0.05),
                         row("C", 1e-4, source=85, target=0, wrong=0.20),   # dominated by A
                         row("D", 1e-4, source=95, target=0, wrong=0.90),
                         row("E", 1e-4, source=70, target=0, wrong=0.05),   # dominated by B (tie on wrong)
                         row("F", 1e-4, source=99, target=0, wrong=0.00, stopped=1),  # stopped: not on it
                         row("G", 1e-4, source=60, target=0, wrong=0.00)])
    assert pareto_front(rows, OBJ) == ["D", "A", "B", "G"]


def test_regret_over_seeds_is_each_seeds_own_choice_then_mean_and_sd():
    rows = []
    for seed, (hi_target, lo_target) in enumerate([(10, 40), (20, 40), (40, 30)]):
        rows += [row(f"hi{seed}", 1e-3, source=90, target=hi_target, wrong=0.6, seed=seed),
                 row(f"lo{seed}", 1e-4, source=80, target=lo_target, wrong=0.0, seed=seed)]
    table = regret_over_seeds(pd.DataFrame(rows), OBJ, "rougeL", LANGS, 0.2)
    sweep = table[(table["method"] == "all") & (table["rule"] == "source_dev")].sort_values("seed")
    assert list(sweep["regret"]) == [30, 20, 0]  # per seed: best target minus the choice's
    lid = table[(table["method"] == "all") & (table["rule"] == "lid_aware")].sort_values("seed")
    assert list(lid["regret"]) == [0, 0, 10]
    assert set(table["seed"]) == {0, 1, 2} and set(table["method"]) == {"all", "full"}


def test_choose_names_the_rule_and_reads_no_soups_for_a_trial_rule():
    rows = pd.DataFrame([row("a", 1e-4, source=50, target=20)])
    soups = pd.DataFrame([row("soup_z", math.nan, source=99, target=99)])
    assert choose("source_dev", rows, Setting(OBJ, "rougeL", LANGS, 0.2, soups)).trial_id == "a"
