"""Terminal tables of per-language results, shared by `xlsearch trial` and `xlsearch run`."""
from __future__ import annotations

import math
from typing import Any, Sequence

RATE_COLUMNS = (("wrong_language_rate", "wrong lang"), ("empty_rate", "empty"),
                ("undetermined_rate", "undetermined"), ("rudiment_rate", "rudiments"))


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
             *(_cell(metrics.get(f"source_dev/{m}")) for m in metric_names),
             _cell(metrics.get("source_dev/wrong_language_rate"), True), "", "", ""]]
    for lang in target_languages:
        rows.append([lang, *(_cell(metrics.get(f"target/{lang}/{m}")) for m in metric_names),
                     *(_cell(metrics.get(f"target/{lang}/{key}"), True) for key, _ in RATE_COLUMNS)])
    rows.append(["target mean", *(_cell(metrics.get(f"target_mean/{m}")) for m in metric_names),
                 _cell(metrics.get("target_mean/wrong_language_rate"), True), "", "", ""])
    return format_table(header, rows)
