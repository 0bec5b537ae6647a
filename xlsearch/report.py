"""Terminal tables of per-language results, shared by `xlsearch trial` and `xlsearch run`."""
from __future__ import annotations

import math
from typing import Any, Sequence

from xlsearch import keys

RATE_COLUMNS = ((keys.WRONG_LANGUAGE_RATE, "wrong lang"), (keys.EMPTY_RATE, "empty"),
                (keys.UNDETERMINED_RATE, "undetermined"), (keys.RUDIMENT_RATE, "rudiments"))


def _cell(value: Any, percent: bool = False) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{100 * value:.0f}%" if percent else f"{value:.1f}"


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def language_table(metrics: dict[str, Any], source_languages: Sequence[str], target_languages: Sequence[str],
                   metric_names: Sequence[str]) -> str:
    """Rows: the source dev score, then each target language; columns: task metrics and the
    rates of output language (wrong language, empty, undetermined, rudiments)."""
    header = ["language", *metric_names, *(label for _, label in RATE_COLUMNS)]
    rows = [[f"{'+'.join(source_languages)} (source dev)",
             *(_cell(metrics.get(keys.source_dev(m))) for m in metric_names),
             _cell(metrics.get(keys.source_dev(keys.WRONG_LANGUAGE_RATE)), True), "", "", ""]]
    for lang in target_languages:
        rows.append([lang, *(_cell(metrics.get(keys.target(lang, m))) for m in metric_names),
                     *(_cell(metrics.get(keys.target(lang, key)), True) for key, _ in RATE_COLUMNS)])
    rows.append(["target mean", *(_cell(metrics.get(keys.target_mean(m))) for m in metric_names),
                 _cell(metrics.get(keys.target_mean(keys.WRONG_LANGUAGE_RATE)), True), "", "", ""])
    return format_table(header, rows)


def trials_table(trials: Sequence[dict[str, Any]], target_languages: Sequence[str],
                 metric_names: Sequence[str], objective: str, limit: int = 30) -> str:
    """One row per trial that reported (``{"config", "metrics"}`` items), zero-shot trials first,
    then translate-train ones (marked), grouped by method and intermediate tuning, LR ascending, so the effect of the LR reads down a group: the source
    dev score (the objective, and exact match where the task has it), then the wrong-language
    rate in each target language and on average, and the mean target score. With more than
    ``limit`` trials, the best ``limit`` by ``objective`` are shown."""
    reported = [t for t in trials if t.get("metrics") and objective in t["metrics"]]
    shown = sorted(reported, key=lambda t: -t["metrics"][objective])[:limit]
    shown.sort(key=lambda t: (str(t["config"].get(keys.TRAIN_DATA, keys.SOURCE_DATA)), str(t["config"]["method"]),
                              str(t["config"]["intermediate_tuning"]), t["config"]["lr"]))
    source = [keys.metric_of(objective), *(["exact_match"] if "exact_match" in metric_names else [])]
    source = list(dict.fromkeys(source))
    header = ["method", "it", "lr", "rounds", *(f"src {m}" for m in source),
              *(f"{lang} wrong" for lang in target_languages), "mean wrong", f"tgt {source[0]}"]
    rows = []
    for t in shown:
        c, m = t["config"], t["metrics"]
        method = str(c["method"]) + (" (translate-train)" if c.get(keys.TRAIN_DATA) == keys.TRANSLATE_TRAIN else "")
        rows.append([method, str(c["intermediate_tuning"]), f"{c['lr']:.1e}", str(m.get(keys.ROUND, "-")),
                     *(_cell(m.get(keys.source_dev(name))) for name in source),
                     *(_cell(m.get(keys.target(lang, keys.WRONG_LANGUAGE_RATE)), True) for lang in target_languages),
                     _cell(m.get(keys.target_mean(keys.WRONG_LANGUAGE_RATE)), True),
                     _cell(m.get(keys.target_mean(source[0])))])
    note = f"\n(the best {limit} of {len(reported)} trials by {objective})" if len(reported) > limit else ""
    return format_table(header, rows) + note


def mean_sd(mean: Any, sd: Any, percent: bool = False) -> str:
    """``61.2 ± 1.3`` (``±`` left out where there is no spread to show: one seed)."""
    if mean is None or (isinstance(mean, float) and math.isnan(mean)):
        return "-"
    if sd is None or (isinstance(sd, float) and math.isnan(sd)):
        return _cell(mean, percent)
    return f"{_cell(mean, percent)} ± {_cell(sd, percent)}"


def row_mean_sd(row: Any, column: str, scale: float = 1.0, percent: bool = False) -> str:
    """:func:`mean_sd` of ``column`` in a row of :func:`xlsearch.selection.over_seeds` (its
    ``sd:<column>`` beside it), both times ``scale``."""
    mean, sd = row.get(column), row.get(keys.SD_PREFIX + column)
    finite = lambda v: v is not None and not (isinstance(v, float) and math.isnan(v))  # noqa: E731
    return mean_sd(scale * mean if finite(mean) else None, scale * sd if finite(sd) else None, percent)


def configurations_table(rows, metric_names: Sequence[str], objective: str) -> str:
    """One row per configuration of a sweep over seeds (``rows``: the frame of
    :func:`xlsearch.selection.over_seeds`), grouped like :func:`trials_table`: the seeds it ran,
    then mean ± sd over them of the source dev score (and exact match), the mean wrong-language
    rate and the mean target score."""
    source = list(dict.fromkeys([keys.metric_of(objective), *(["exact_match"] if "exact_match" in metric_names else [])]))
    columns = [*(keys.source_dev(m) for m in source), keys.target_mean(keys.WRONG_LANGUAGE_RATE),
               *(keys.target_mean(m) for m in source)]
    header = ["method", "it", "lr", "seeds", *(f"src {m}" for m in source), "mean wrong", *(f"tgt {m}" for m in source)]
    ordered = rows.sort_values(["method", "intermediate_tuning", "lr"], key=lambda c: c.astype(str) if c.dtype == object
                               else c, kind="stable")
    out = []
    for _, r in ordered.iterrows():
        method = str(r["method"]) + (" (translate-train)" if r.get(keys.TRAIN_DATA) == keys.TRANSLATE_TRAIN else "")
        out.append([method, str(r["intermediate_tuning"]), f"{float(r['lr']):.1e}", str(int(r.get(keys.SEEDS, 1))),
                    *(row_mean_sd(r, c, percent=keys.WRONG_LANGUAGE_RATE in c) for c in columns)])
    return format_table(header, out)


def zero_shot_vs_translate_train(zero_shot: dict[str, Any], translate_train: dict[str, Any],
                                 target_languages: Sequence[str], metric: str) -> str:
    """Per target language: the zero-shot choice's score, the translate-train choice's, and the
    share of the translate-train score zero-shot reaches."""
    rows = []
    for lang in [*target_languages, None]:
        key = keys.target_mean(metric) if lang is None else keys.target(lang, metric)
        z, t = zero_shot.get(key), translate_train.get(key)
        share = f"{100 * z / t:.0f}%" if z is not None and t and not math.isnan(t) and not math.isnan(z) else ""
        rows.append([lang or "target mean", _cell(z), _cell(t), share])
    return format_table(["language", f"zero-shot {metric}", f"translate-train {metric}", "zero-shot / translate-train"],
                        rows)
