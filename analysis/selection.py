"""Choosing the learning rate (the trial) of each group, three ways, as pure functions.

- ``source_dev``: the study's protocol and the only fully zero-shot rule: best score on
  source-language dev data.
- ``lid_aware``: still without target labels: best source dev score among trials whose mean
  wrong-language rate on target-language outputs stays under a threshold (for QA the rate is
  computed on examples whose reference answer is identifiably in the language, which reads the
  references: see the report's caveat).
- ``oracle``: best mean target-language score. It reads target labels: analysis only, never a
  zero-shot choice.

Rows are one group's final-round trials (see :func:`analysis.frame.final_rows`). Ties go to the
lower learning rate, then the trial id, so a choice never depends on row order. Diverged trials
and trials without a score are never chosen.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from xlsearch import keys

RULES = ("source_dev", "lid_aware", "oracle")


@dataclass
class Choice:
    rule: str
    trial_id: str | None
    lr: float | None
    source_score: float = math.nan
    target_scores: dict[str, float] = field(default_factory=dict)
    wrong_language: dict[str, float] = field(default_factory=dict)
    note: str = ""

    @property
    def mean_target(self) -> float:
        return _nanmean(self.target_scores.values())

    @property
    def mean_wrong_language(self) -> float:
        return _nanmean(self.wrong_language.values())


def _nanmean(values) -> float:
    finite = [v for v in values if v is not None and not math.isnan(v)]
    return sum(finite) / len(finite) if finite else math.nan


def mean_over(rows: pd.DataFrame, metric: str, langs: list[str]) -> pd.Series:
    """Per row, the mean of ``target/<lang>/<metric>`` over the languages present (NaN skipped)."""
    columns = [keys.target(lang, metric) for lang in langs if keys.target(lang, metric) in rows]
    if not columns:
        return pd.Series(math.nan, index=rows.index)
    return rows[columns].mean(axis=1, skipna=True)


def _pick(rows: pd.DataFrame, key: pd.Series, rule: str, metric: str, langs: list[str], objective: str,
          note: str = "") -> Choice:
    scored = rows.assign(_key=key).dropna(subset=["_key"])
    if scored.empty:
        return Choice(rule, None, None, note=note or "no trial to choose from")
    best = scored.sort_values(["_key", "lr", keys.TRIAL_ID], ascending=[False, True, True]).iloc[0]
    return Choice(
        rule, str(best[keys.TRIAL_ID]), float(best["lr"]), float(best.get(objective, math.nan)),
        {lang: float(best.get(keys.target(lang, metric), math.nan)) for lang in langs},
        {lang: float(best.get(keys.target(lang, keys.WRONG_LANGUAGE_RATE), math.nan)) for lang in langs},
        note,
    )


def usable(rows: pd.DataFrame, objective: str) -> pd.DataFrame:
    """Trials that can be chosen: not diverged, with a finite objective."""
    ok = rows[(rows[keys.DIVERGED] == 0)]
    return ok[ok[objective].notna()] if objective in ok else ok.iloc[0:0]


def select_source_dev(rows, objective, metric, langs) -> Choice:
    rows = usable(rows, objective)
    return _pick(rows, rows[objective] if objective in rows else pd.Series(dtype=float), "source_dev",
                 metric, langs, objective)


def select_lid_aware(rows, objective, metric, langs, threshold: float) -> Choice:
    rows = usable(rows, objective)
    wrong = mean_over(rows, keys.WRONG_LANGUAGE_RATE, langs)
    passing = rows[wrong < threshold]
    if passing.empty:
        return Choice("lid_aware", None, None,
                      note=f"no trial has a mean wrong-language rate under {threshold:g}")
    return _pick(passing, passing[objective], "lid_aware", metric, langs, objective)


def select_oracle(rows, objective, metric, langs) -> Choice:
    rows = usable(rows, objective)
    return _pick(rows, mean_over(rows, metric, langs), "oracle", metric, langs, objective)


def select_all(rows: pd.DataFrame, objective: str, metric: str, langs: list[str],
               threshold: float) -> dict[str, Choice]:
    """The three rules' choices for one group; a group where every trial diverged gets no
    choice, with a note saying so."""
    if len(rows) and (rows[keys.DIVERGED] == 1).all():
        return {r: Choice(r, None, None, note="every trial diverged") for r in RULES}
    return {
        "source_dev": select_source_dev(rows, objective, metric, langs),
        "lid_aware": select_lid_aware(rows, objective, metric, langs, threshold),
        "oracle": select_oracle(rows, objective, metric, langs),
    }


def regret(choice: Choice, oracle: Choice) -> float:
    """Mean target score the oracle's choice gets and this rule's does not (>= 0, task-score
    points); NaN where either made no choice."""
    if choice.trial_id is None or oracle.trial_id is None:
        return math.nan
    return oracle.mean_target - choice.mean_target
