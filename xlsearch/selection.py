"""Choosing a trial, and so its learning rate, from a sweep's results: pure functions over a
pandas frame of trials. The one place that decides; both ends of a sweep call it, and the
sweep while it runs:

- the sweep's end (:mod:`xlsearch.sweep.run`): summary.json's ``best``, the "best by ..." line of
  the table printed when the sweep is done, the MLflow parent run's ``best.*`` tags;
- `xlsearch analyze` (:mod:`analysis.report`): each rule's choice per (method, intermediate
  tuning) group, and the zero-shot choice for the whole sweep;
- while the sweep runs (:mod:`xlsearch.sweep.disk`): whose final weights stay on disk, the
  zero-shot rule's first few (:func:`zero_shot_ranking`).

**The frame.** One row per trial and eval round, or per trial; columns ``trial_id``, ``lr``,
the group columns ``method`` and ``intermediate_tuning``, ``round``, ``diverged`` and the
metrics (:mod:`xlsearch.keys`). :func:`analysis.frame.load_sweep` reads one from a sweep
directory or MLflow; :func:`trials_frame` builds one from the records of the sweep's end.

**Comparable trials** (:func:`comparable`). Each trial counts with its last reported round.
Only trials that reached the furthest round any trial that did not diverge reached are
compared: normally the spec's last round, so trials ASHA stopped early, which were scored at a
lower fidelity, never compete with finished ones; in a sweep cut short by a budget before any
trial finished, the furthest round reached, so the sweep still gets a choice. Diverged trials
are kept, flagged (``diverged`` = 1), and never chosen.

**Rules** (:data:`SELECTION_RULES`). A rule takes the usable comparable rows of a group (not
diverged, with a finite objective) and the :class:`Setting`, and returns its
:class:`Choice`, mostly through :func:`best_of`:

- ``source_dev``: the study's protocol and the only fully zero-shot rule: best score on
  source-language dev data. Over all comparable trials together (every method and
  intermediate tuning), it is the sweep's zero-shot choice (:func:`zero_shot_choice`).
- ``lid_aware``: still without target labels: best source dev score among trials whose mean
  wrong-language rate on target-language outputs stays under a threshold (for QA the rate is
  computed on examples whose reference answer is identifiably in the language, which reads the
  references: see the report's caveat).
- ``oracle``: best mean target-language score. It reads target labels: analysis only, never a
  zero-shot choice.

Ties go to the lower learning rate, then the lower trial id, so a choice never depends on row
order. A new rule is one function ``(rows, setting) -> Choice`` and one line in
:data:`SELECTION_RULES`; the analysis report then writes its tables too.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import pandas as pd

from xlsearch import keys

ZERO_SHOT_RULE = "source_dev"
NO_CHOICE = "no trial to choose from"


@dataclass(frozen=True)
class Setting:
    """What every rule may read besides the rows."""

    objective: str  # e.g. source_dev/rougeL
    metric: str  # the task metric per target language, e.g. rougeL
    langs: Sequence[str]  # the target languages
    threshold: float = 0.2  # lid_aware: highest mean wrong-language rate a trial may have


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


# ---------------------------------------------------------------------------------------------
# Which trials are compared


def last_rounds(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per trial: its last reported round (``diverged`` filled with 0 where missing)."""
    if keys.DIVERGED not in frame:
        frame = frame.assign(**{keys.DIVERGED: 0})
    frame = frame.assign(**{keys.DIVERGED: frame[keys.DIVERGED].fillna(0).astype(int)})
    ordered = frame.sort_values(keys.ROUND, kind="stable")
    return ordered.drop_duplicates(subset=[keys.TRIAL_ID], keep="last").sort_index()


def comparable_round(frame: pd.DataFrame) -> int | None:
    """The furthest round a trial that did not diverge reached; None when every trial diverged."""
    last = last_rounds(frame)
    alive = last[last[keys.DIVERGED] == 0]
    return None if alive.empty else int(alive[keys.ROUND].max())


def comparable(frame: pd.DataFrame) -> pd.DataFrame:
    """Each trial's last round, for the trials that reached :func:`comparable_round`, and the
    diverged trials (flagged, never chosen); in a sweep over seeds, one row per configuration
    (:func:`over_seeds`)."""
    last = last_rounds(frame)
    top = comparable_round(frame)
    if top is not None:
        last = last[(last[keys.ROUND] >= top) | (last[keys.DIVERGED] == 1)]
    return over_seeds(last.copy())


def config_columns(frame: pd.DataFrame) -> list[str]:
    """The columns that name a configuration: LR, method, intermediate tuning, training data and
    the methods' parameters (``<method>.<param>``), not the seed."""
    named = ("lr", "method", "intermediate_tuning", keys.TRAIN_DATA)
    methods = set(frame["method"].astype(str)) if "method" in frame else set()
    return [c for c in frame.columns if c in named or str(c).partition(".")[0] in methods]


def over_seeds(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` (one per trial) with the trials of one configuration that differ only in their
    seed made one row: each metric the mean over the seeds (NaN skipped), ``sd:<metric>`` its
    standard deviation (NaN with one value), ``seeds`` how many; the configuration counts as
    diverged when any of its seeds diverged (never chosen), its round is the lowest of its
    seeds', and its trial id is its first seed's (whose weights the sweep keeps). Rows without
    a seed column, or one seed per configuration, come back as they are."""
    if keys.SEED not in rows or rows.empty or rows[keys.SEED].isna().all():
        return rows
    names = config_columns(rows)
    # One hashable key per configuration: a method parameter may be a list (multi_source's
    # languages), which pandas cannot group by.
    key = rows[names].apply(lambda r: repr([tuple(v) if isinstance(v, (list, tuple)) else v for v in r]), axis=1)
    ordered = rows.assign(_config=key).sort_values(keys.SEED, kind="stable")
    groups = ordered.groupby("_config", sort=False)
    if groups.ngroups == len(rows):
        return rows.assign(**{keys.SEEDS: 1})
    metrics = [c for c in rows.columns if keys.is_metric(str(c)) and pd.api.types.is_numeric_dtype(rows[c])]
    out = groups.agg({**{c: "first" for c in rows.columns if c not in metrics},
                      **{c: "mean" for c in metrics}, keys.DIVERGED: "max", keys.ROUND: "min",
                      keys.SEED: "count"}).reset_index(drop=True)
    sd = groups[metrics].std(ddof=1).reset_index(drop=True).add_prefix(keys.SD_PREFIX)
    out = pd.concat([out.rename(columns={keys.SEED: keys.SEEDS}), sd], axis=1)
    return out[[*(c for c in rows.columns if c != keys.SEED), keys.SEEDS, *sd.columns]]


def usable(rows: pd.DataFrame, objective: str) -> pd.DataFrame:
    """Trials that can be chosen: not diverged, with a finite objective."""
    if objective not in rows:
        rows = rows.assign(**{objective: math.nan})
    ok = rows[rows[keys.DIVERGED] == 0]
    return ok[ok[objective].notna()]


def by_train_data(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """``frame``'s rows per training data (``keys.TRAIN_DATA``): ``source`` (zero-shot; also where
    the column is missing or NaN, as in sweeps from before translate-train), ``translate_train``,
    each part without the column, so a rule given one part compares all of its trials. Parts
    without rows are left out."""
    if keys.TRAIN_DATA not in frame:
        return {keys.SOURCE_DATA: frame} if len(frame) else {}
    data = frame[keys.TRAIN_DATA].fillna(keys.SOURCE_DATA).astype(str)
    return {value: frame[data == value].drop(columns=keys.TRAIN_DATA) for value in sorted(data.unique())}


# ---------------------------------------------------------------------------------------------
# Rules


def mean_over(rows: pd.DataFrame, metric: str, langs: Sequence[str]) -> pd.Series:
    """Per row, the mean of ``target/<lang>/<metric>`` over the languages present (NaN skipped)."""
    columns = [keys.target(lang, metric) for lang in langs if keys.target(lang, metric) in rows]
    if not columns:
        return pd.Series(math.nan, index=rows.index)
    return rows[columns].mean(axis=1, skipna=True)


def _best_first(scored: pd.DataFrame) -> pd.DataFrame:
    """Rows with a ``_score``, highest first, ties to the lower LR, then the lower trial id; rows
    without a score dropped."""
    return scored.dropna(subset=["_score"]).sort_values(["_score", "lr", keys.TRIAL_ID],
                                                        ascending=[False, True, True])


def best_of(rows: pd.DataFrame, scores: pd.Series, setting: Setting, none: str = NO_CHOICE) -> Choice:
    """The row with the highest score (NaN: not a candidate); ties to the lower LR, then the
    lower trial id. ``none`` is the note when no row is a candidate."""
    scored = _best_first(rows.assign(_score=scores))
    if scored.empty:
        return Choice("", None, None, note=none)
    best = scored.iloc[0]
    return Choice(
        "", str(best[keys.TRIAL_ID]), float(best["lr"]), float(best.get(setting.objective, math.nan)),
        {lang: float(best.get(keys.target(lang, setting.metric), math.nan)) for lang in setting.langs},
        {lang: float(best.get(keys.target(lang, keys.WRONG_LANGUAGE_RATE), math.nan)) for lang in setting.langs},
    )


def source_dev(rows: pd.DataFrame, s: Setting) -> Choice:
    return best_of(rows, rows[s.objective], s)


def lid_aware(rows: pd.DataFrame, s: Setting) -> Choice:
    passing = mean_over(rows, keys.WRONG_LANGUAGE_RATE, s.langs) < s.threshold
    return best_of(rows, rows[s.objective].where(passing), s,
                   none=f"no trial has a mean wrong-language rate under {s.threshold:g}")


def oracle(rows: pd.DataFrame, s: Setting) -> Choice:
    return best_of(rows, mean_over(rows, s.metric, s.langs), s)


Rule = Callable[[pd.DataFrame, Setting], Choice]
SELECTION_RULES: dict[str, Rule] = {
    "source_dev": source_dev,
    "lid_aware": lid_aware,
    "oracle": oracle,
}
RULES = tuple(SELECTION_RULES)


def choose(rule: str, rows: pd.DataFrame, setting: Setting) -> Choice:
    """One rule's choice among ``rows`` (comparable rows: see :func:`comparable`); diverged
    trials and trials without a score are dropped before the rule sees them."""
    choice = SELECTION_RULES[rule](usable(rows, setting.objective), setting)
    return dataclasses.replace(choice, rule=rule)


def select_all(rows: pd.DataFrame, objective: str, metric: str, langs: Sequence[str],
               threshold: float) -> dict[str, Choice]:
    """Every rule's choice for one group's comparable rows; a group where every trial diverged
    gets no choice, with a note saying so."""
    if len(rows) and (rows[keys.DIVERGED] == 1).all():
        return {r: Choice(r, None, None, note="every trial diverged") for r in SELECTION_RULES}
    setting = Setting(objective, metric, list(langs), threshold)
    return {rule: choose(rule, rows, setting) for rule in SELECTION_RULES}


def zero_shot_part(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows of zero-shot trials (trained on source-language data only): translate-train
    trials read target-language training data and are never a zero-shot choice."""
    return by_train_data(frame).get(keys.SOURCE_DATA, frame.iloc[0:0])


def _arm_choice(frame: pd.DataFrame, data: str, objective: str, langs: Sequence[str] | None) -> Choice:
    """The source_dev rule over the comparable trials of one training-data arm of ``frame``."""
    langs = keys.target_languages(frame.columns) if langs is None else list(langs)
    part = by_train_data(frame).get(data)
    if part is None or part.empty:
        arm = "zero-shot" if data == keys.SOURCE_DATA else "translate-train"
        return Choice(ZERO_SHOT_RULE, None, None, note=f"no {arm} trial")
    return choose(ZERO_SHOT_RULE, comparable(part), Setting(objective, keys.metric_of(objective), langs))


def zero_shot_choice(frame: pd.DataFrame, objective: str, langs: Sequence[str] | None = None) -> Choice:
    """The sweep's zero-shot choice: the source_dev rule over all comparable zero-shot trials of
    ``frame``, every method and intermediate tuning together."""
    return _arm_choice(frame, keys.SOURCE_DATA, objective, langs)


def zero_shot_ranking(frame: pd.DataFrame, objective: str) -> list[str]:
    """The trial ids of ``frame``'s comparable zero-shot trials in the zero-shot rule's order,
    best first (the first is :func:`zero_shot_choice`'s trial): whose weights a sweep keeps."""
    part = zero_shot_part(frame)
    if part.empty:
        return []
    rows = usable(comparable(part), objective)
    return [str(t) for t in _best_first(rows.assign(_score=rows[objective]))[keys.TRIAL_ID]]


def regret(choice: Choice, oracle: Choice) -> float:
    """Mean target score the oracle's choice gets and this rule's does not (>= 0, task-score
    points); NaN where either made no choice."""
    if choice.trial_id is None or oracle.trial_id is None:
        return math.nan
    return oracle.mean_target - choice.mean_target


# ---------------------------------------------------------------------------------------------
# The sweep's end: its trial records


def _record_id(record: dict[str, Any], position: int) -> str:
    return str(record["trial_id"]) if record.get("trial_id") is not None else str(position)


def trials_frame(trials: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The frame of the sweep's trial records (``{"trial_id", "config", "metrics"}``, each
    trial's last result): one row per trial that reported a round. A record without a trial
    id is named by its position."""
    rows = []
    for position, t in enumerate(trials):
        metrics = t.get("metrics") or {}
        if keys.ROUND not in metrics:
            continue
        row = dict(t.get("config") or {})
        row.update({k: v for k, v in metrics.items() if keys.is_metric(k) or k in (keys.ROUND, keys.DIVERGED)})
        row[keys.TRIAL_ID] = _record_id(t, position)
        rows.append(row)
    return pd.DataFrame(rows)


def translate_train_choice(frame: pd.DataFrame, objective: str, langs: Sequence[str] | None = None) -> Choice:
    """The translate-train arm's choice, set beside the zero-shot one: the same source_dev rule,
    over the comparable translate-train trials only."""
    return _arm_choice(frame, keys.TRANSLATE_TRAIN, objective, langs)


def best_trial(trials: Sequence[dict[str, Any]], objective: str, *, translate_train: bool = False
               ) -> dict[str, Any] | None:
    """The record of the sweep's zero-shot choice (:func:`zero_shot_choice`), or with
    ``translate_train`` of the translate-train arm's (:func:`translate_train_choice`); None when
    no comparable trial of that kind has a score."""
    frame = trials_frame(trials)
    if frame.empty:
        return None
    choice = (translate_train_choice if translate_train else zero_shot_choice)(frame, objective)
    if choice.trial_id is None:
        return None
    return next(t for position, t in enumerate(trials) if _record_id(t, position) == choice.trial_id)


def configuration_of(trials: Sequence[dict[str, Any]], record: dict[str, Any]) -> dict[str, Any] | None:
    """In a sweep over seeds, the configuration of the trial ``record`` (a record
    :func:`best_trial` returned): ``{"seeds", "metrics", "sd"}``, each metric's mean and standard
    deviation over the configuration's comparable seeds; None when the sweep has no seeds."""
    rows = comparable(trials_frame(trials))
    if keys.SEEDS not in rows:
        return None
    row = rows[rows[keys.TRIAL_ID].astype(str) == str(record.get("trial_id"))]
    if row.empty:
        return None
    row = row.iloc[0]
    metrics = [c for c in rows.columns if keys.is_metric(str(c))]
    return {"seeds": int(row[keys.SEEDS]),
            "metrics": {c: float(row[c]) for c in metrics if pd.notna(row[c])},
            "sd": {c: float(row[keys.SD_PREFIX + c]) for c in metrics
                   if keys.SD_PREFIX + c in rows and pd.notna(row[keys.SD_PREFIX + c])}}
