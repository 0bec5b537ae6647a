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

**Rules** (:data:`SELECTION_RULES`). A rule scores the usable comparable rows of a group (not
diverged, not stopped for wrong language, with a finite objective) and the best score is its
:class:`Choice`. Each rule declares what it reads of the target languages' labels, and
:func:`choose` hands it **only the columns that allows** (:func:`xlsearch.keys.readable_with`):
a rule that reads no target label cannot read one, not to filter and not to break ties.

- ``source_dev``: the study's protocol: best score on source-language dev data. Over all
  comparable trials together (every method and intermediate tuning), it is the sweep's
  zero-shot choice (:func:`zero_shot_choice`). Reads no target label.
- ``lid_aware``: best source dev score among trials whose mean label-free wrong-language rate on
  the target outputs stays under a threshold. Reads no target label.
- ``pivot_dev``: best mean score on the dev data of pivot languages, labeled languages that are
  neither source nor target (Chen and Ritter, EMNLP 2021). Reads no target label.
- ``soup``: the uniform average of the final weights of the group's best trials by source dev
  score, evaluated as a model of its own (:func:`soup_members`; the sweep makes it); the best
  soup by source dev score. Reads no target label.
- ``few_shot_target``: best mean score on the few labeled target examples held out of the dev
  data (``selection.few_shot_examples``). Reads those few target labels and no other.
- ``oracle``: best mean target-language score. It reads target labels: analysis only, never a
  zero-shot choice; what the others' **regret** is measured against.

Every ``target/`` score is measured on the dev examples left after the few-shot ones are held
out, so no rule is scored on what it saw. Ties go to the lower learning rate, then the lower
trial id, so a choice never depends on row order. A new rule is one :class:`Rule` (a function
``(rows, setting) -> scores`` and what it reads) and one line in :data:`SELECTION_RULES`; the
analysis report then writes its tables too.

**Regret over seeds** (:func:`regret_over_seeds`). In a sweep over seeds each seed's trials are a
replication of the sweep: every rule chooses within each seed, per group and across the sweep,
and its regret is the mean ± sd over the seeds.
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
    soups: pd.DataFrame | None = field(default=None, compare=False)  # the soup rule's candidates


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
    diverged (or stopped for wrong language) when any of its seeds did (never chosen), its round is the lowest of its
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
                      **({keys.STOPPED_WRONG_LANGUAGE: "max"} if keys.STOPPED_WRONG_LANGUAGE in rows else {}),
                      keys.SEED: "count"}).reset_index(drop=True)
    sd = groups[metrics].std(ddof=1).reset_index(drop=True).add_prefix(keys.SD_PREFIX)
    out = pd.concat([out.rename(columns={keys.SEED: keys.SEEDS}), sd], axis=1)
    return out[[*(c for c in rows.columns if c != keys.SEED), keys.SEEDS, *sd.columns]]


def usable(rows: pd.DataFrame, objective: str) -> pd.DataFrame:
    """Trials that can be chosen: not diverged, not stopped for answering in the wrong language
    (``scheduler.stop_wrong_language_above``), with a finite objective."""
    if objective not in rows:
        rows = rows.assign(**{objective: math.nan})
    ok = rows[rows[keys.DIVERGED] == 0]
    if keys.STOPPED_WRONG_LANGUAGE in ok:
        ok = ok[ok[keys.STOPPED_WRONG_LANGUAGE].fillna(0) == 0]
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


def mean_over(rows: pd.DataFrame, metric: str, langs: Sequence[str], key=keys.target) -> pd.Series:
    """Per row, the mean of ``key(lang, metric)`` (``target/<lang>/<metric>`` by default) over
    the languages present (NaN skipped)."""
    columns = [key(lang, metric) for lang in langs if key(lang, metric) in rows]
    if not columns:
        return pd.Series(math.nan, index=rows.index)
    return rows[columns].mean(axis=1, skipna=True)


def _best_first(scored: pd.DataFrame) -> pd.DataFrame:
    """Rows with a ``_score``, highest first, ties to the lower LR, then the lower trial id; rows
    without a score dropped."""
    lr = scored["lr"] if "lr" in scored else pd.Series(math.nan, index=scored.index)
    return (scored.assign(_lr=lr.astype(float)).dropna(subset=["_score"])
            .sort_values(["_score", "_lr", keys.TRIAL_ID], ascending=[False, True, True], na_position="last"))


def best_of(rows: pd.DataFrame, scores: pd.Series, setting: Setting, none: str = NO_CHOICE) -> Choice:
    """The row with the highest score (NaN: not a candidate); ties to the lower LR, then the
    lower trial id. ``none`` is the note when no row is a candidate."""
    scored = _best_first(rows.assign(_score=scores))
    if scored.empty:
        return Choice("", None, None, note=none)
    best = scored.iloc[0]
    lr = best.get("lr", math.nan)
    return Choice(
        "", str(best[keys.TRIAL_ID]), None if pd.isna(lr) else float(lr), float(best.get(setting.objective, math.nan)),
        {lang: float(best.get(keys.target(lang, setting.metric), math.nan)) for lang in setting.langs},
        {lang: float(best.get(keys.target(lang, keys.WRONG_LANGUAGE_RATE), math.nan)) for lang in setting.langs},
    )


@dataclass(frozen=True)
class Rule:
    """A selection rule: ``score`` gives each candidate row a score (NaN: not a candidate), and
    sees only the columns ``reads`` allows (:data:`xlsearch.keys.LABEL_LEVELS`)."""

    score: Callable[[pd.DataFrame, Setting], pd.Series]
    reads: str = keys.NO_TARGET_LABEL
    none: str | Callable[[Setting], str] = NO_CHOICE  # the note when no row is a candidate
    candidates: str = "trials"  # or "soups": the group's soups (Setting.soups)

    @property
    def zero_shot(self) -> bool:
        return self.reads == keys.NO_TARGET_LABEL


def _lid_aware(rows: pd.DataFrame, s: Setting) -> pd.Series:
    passing = mean_over(rows, keys.WRONG_LANGUAGE_RATE, s.langs) < s.threshold
    return rows[s.objective].where(passing)


def _pivot_dev(rows: pd.DataFrame, s: Setting) -> pd.Series:
    metric = keys.pivot_mean(s.metric)
    return rows[metric] if metric in rows else pd.Series(math.nan, index=rows.index)


def _few_shot_target(rows: pd.DataFrame, s: Setting) -> pd.Series:
    return mean_over(rows, s.metric, s.langs, key=keys.few_shot)


SELECTION_RULES: dict[str, Rule] = {
    "source_dev": Rule(lambda rows, s: rows[s.objective]),
    "lid_aware": Rule(_lid_aware, none=lambda s: f"no trial has a mean wrong-language rate under {s.threshold:g}"),
    "pivot_dev": Rule(_pivot_dev, none="no pivot language score (pivot_languages)"),
    "soup": Rule(lambda rows, s: rows[s.objective], candidates="soups",
                 none="no soup (selection.soup_top_k, and at least 2 finished trials in the group)"),
    "few_shot_target": Rule(_few_shot_target, reads=keys.FEW_TARGET_LABELS,
                            none="no few-shot target score (selection.few_shot_examples)"),
    "oracle": Rule(lambda rows, s: mean_over(rows, s.metric, s.langs), reads=keys.TARGET_LABELS),
}
RULES = tuple(SELECTION_RULES)
ORACLE_RULE = "oracle"


def rules() -> tuple[str, ...]:
    """The registered rules' names, in registry order (rules added after import included)."""
    return tuple(SELECTION_RULES)


def readable_rows(rows: pd.DataFrame, reads: str) -> pd.DataFrame:
    """``rows`` with only the columns a reader allowed ``reads`` may see."""
    return rows[keys.readable_with(rows.columns, reads)]


def choose(rule: str, rows: pd.DataFrame, setting: Setting) -> Choice:
    """One rule's choice among ``rows`` (comparable rows: see :func:`comparable`), or among the
    group's soups for a soup rule; diverged trials, trials stopped for wrong language and trials
    without a score are dropped before the rule sees them, and the rule sees only the columns
    it may read. The choice's target scores are filled in afterwards, from the whole row."""
    r = SELECTION_RULES[rule]
    pool = rows if r.candidates == "trials" else (setting.soups if setting.soups is not None else rows.iloc[0:0])
    pool = usable(pool, setting.objective)
    if pool.empty:
        scores = pd.Series(dtype=float)
    else:
        scores = pd.Series(r.score(readable_rows(pool, r.reads), setting), index=pool.index, dtype=float)
    none = r.none(setting) if callable(r.none) else r.none
    return dataclasses.replace(best_of(pool, scores, setting, none=none), rule=rule)


def select_all(rows: pd.DataFrame, objective: str, metric: str, langs: Sequence[str],
               threshold: float, soups: pd.DataFrame | None = None) -> dict[str, Choice]:
    """Every rule's choice for one group's comparable rows (and its soups); a group where every
    trial diverged gets no choice, with a note saying so."""
    if len(rows) and (rows[keys.DIVERGED] == 1).all():
        return {r: Choice(r, None, None, note="every trial diverged") for r in SELECTION_RULES}
    setting = Setting(objective, metric, list(langs), threshold, soups)
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
# Soups, the Pareto front, and regret over seeds


def group_columns(frame: pd.DataFrame) -> list[str]:
    """The columns of a soup group: the configuration (:func:`config_columns`) without its LR."""
    return [c for c in config_columns(frame) if c != "lr"]


def _key(rows: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One hashable key per row from ``columns`` (lists, such as multi_source's languages, as tuples)."""
    if not columns:
        return pd.Series("", index=rows.index)
    return rows[list(columns)].apply(lambda r: repr([tuple(v) if isinstance(v, (list, tuple)) else v for v in r]),
                                     axis=1)


def soup_plans(frame: pd.DataFrame, objective: str, top_k: int, min_members: int = 2) -> list[dict[str, Any]]:
    """The soups a sweep makes: in each seed and each group of its comparable zero-shot trials
    (the same method and method parameters, intermediate tuning; :func:`group_columns`), the
    ``top_k`` best usable trials by source dev score (ties to the lower LR, then the lower trial
    id), where at least ``min_members`` are (a soup averages 2 or more; while the sweep runs,
    1 says which trials may still be members). Each plan: ``{"soup_id", "config", "members"}``;
    its id is stable for the same group and seed. Reads no target label."""
    import hashlib

    part = zero_shot_part(frame)
    if top_k < 2 or part.empty:
        return []
    last = last_rounds(part)
    top = comparable_round(part)
    rows = usable(last[last[keys.ROUND] >= top] if top is not None else last.iloc[0:0], objective)
    if rows.empty:
        return []
    columns = group_columns(rows)
    seeds = rows[keys.SEED] if keys.SEED in rows else pd.Series(None, index=rows.index)
    rows = rows.assign(_group=_key(rows, columns), _seed=seeds.astype(object))
    plans = []
    for (_, seed), group in rows.groupby(["_group", "_seed"], sort=True, dropna=False):
        best = _best_first(group.assign(_score=group[objective])).head(top_k)
        if len(best) < max(1, min_members):
            continue
        config = {c: best.iloc[0][c] for c in columns if c in best and _present(best.iloc[0][c])}
        if _present(seed):
            config[keys.SEED] = int(seed)
        name = hashlib.sha1(repr(sorted((k, repr(v)) for k, v in config.items())).encode()).hexdigest()[:10]
        plans.append({"soup_id": f"soup_{name}", "config": config,
                      "members": [str(t) for t in best[keys.TRIAL_ID]]})
    return plans


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def pareto_front(rows: pd.DataFrame, objective: str, wrong: str = keys.target_mean(keys.WRONG_LANGUAGE_RATE)
                 ) -> list[str]:
    """The trial ids of ``rows`` on the Pareto front of a high ``objective`` and a low ``wrong``
    rate: no other row is at least as good on both and better on one. Rows missing either
    value, diverged or stopped, are not on it. Ordered by the objective, best first."""
    rows = usable(rows, objective)
    if wrong not in rows:
        return []
    rows = rows[rows[wrong].notna()]
    points = list(zip(rows[keys.TRIAL_ID].astype(str), rows[objective].astype(float), rows[wrong].astype(float)))
    front = [(t, score, rate) for t, score, rate in points
             if not any(s2 >= score and r2 <= rate and (s2 > score or r2 < rate) for _, s2, r2 in points)]
    return [t for t, _, _ in sorted(front, key=lambda p: (-p[1], p[2], p[0]))]


def replications(frame: pd.DataFrame) -> dict[Any, pd.DataFrame]:
    """The sweep's replications: its trials per seed (a sweep without seeds is one, keyed None)."""
    if keys.SEED not in frame or frame[keys.SEED].isna().all():
        return {None: frame}
    return {int(seed): part.drop(columns=keys.SEED) for seed, part in frame.groupby(keys.SEED, sort=True)}


def regret_over_seeds(frame: pd.DataFrame, objective: str, metric: str, langs: Sequence[str], threshold: float,
                      soups: pd.DataFrame | None = None, group_by: Sequence[str] = ("method", "intermediate_tuning")
                      ) -> pd.DataFrame:
    """Each rule's regret against the oracle (mean target ``metric`` points), per group of
    ``group_by`` and across the sweep (the group ``("all", ...)``), in each replication
    (:func:`replications`) of the zero-shot trials: one row per (group, seed, rule) with the
    chosen trial, its LR, mean target score and regret. A rule without a choice has NaN."""
    rows = []
    part = zero_shot_part(frame)
    for seed, rep in replications(part).items():
        final = comparable(rep)
        rep_soups = None
        if soups is not None and not soups.empty:
            rep_soups = soups if seed is None or keys.SEED not in soups else soups[soups[keys.SEED] == seed]
        groups = [(("all",) * len(group_by), final, rep_soups)]
        if len(final):
            for name, rows_g in final.groupby(list(group_by), sort=True):
                name = name if isinstance(name, tuple) else (name,)
                soups_g = None
                if rep_soups is not None and all(c in rep_soups for c in group_by):
                    soups_g = rep_soups[(rep_soups[list(group_by)] == pd.Series(name, index=list(group_by))).all(axis=1)]
                groups.append((name, rows_g, soups_g))
        for name, rows_g, soups_g in groups:
            choices = select_all(rows_g, objective, metric, langs, threshold, soups_g)
            oracle = choices[ORACLE_RULE]
            for rule, choice in choices.items():
                rows.append({**dict(zip(group_by, name)), "seed": seed, "rule": rule, "trial_id": choice.trial_id,
                             "lr": choice.lr, "mean_target": choice.mean_target, "regret": regret(choice, oracle),
                             "note": choice.note})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------------
# The sweep's end: its trial records


def _record_id(record: dict[str, Any], position: int) -> str:
    return str(record["trial_id"]) if record.get("trial_id") is not None else str(position)


def trials_frame(trials: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The frame of the sweep's trial records (``{"trial_id", "config", "metrics"}``, each
    trial's last result, and its ``outcome`` where known): one row per trial that reported a
    round. A record without a trial id is named by its position."""
    rows = []
    for position, t in enumerate(trials):
        metrics = t.get("metrics") or {}
        if keys.ROUND not in metrics:
            continue
        row = dict(t.get("config") or {})
        row.update({k: v for k, v in metrics.items() if keys.is_metric(k) or k in (keys.ROUND, keys.DIVERGED)})
        row[keys.TRIAL_ID] = _record_id(t, position)
        row[keys.STOPPED_WRONG_LANGUAGE] = int(t.get("outcome") == keys.STOPPED_WRONG_LANGUAGE)
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
