"""The analysis report of a sweep: tables shaped like the study's (rows: method x intermediate
tuning; columns: target languages and their average), plots, and a Markdown page tying them
together, with an HTML copy whose plots are inside the page (MLflow's artifact viewer shows
Markdown as plain text, and HTML with embedded images as a page). Written into one folder, and
logged to the sweep's parent MLflow run when there is one.
"""
from __future__ import annotations

import base64
import html
import math
import re
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on clusters or CI
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import pandas as pd  # noqa: E402

from analysis.frame import GROUP_COLUMNS, final_rows, target_languages  # noqa: E402
from xlsearch import keys  # noqa: E402
from xlsearch.tasks import TASKS, Task  # noqa: E402
from xlsearch.selection import (ORACLE_RULE, SELECTION_RULES, ZERO_SHOT_RULE, Choice, by_train_data,  # noqa: E402
                                comparable, comparable_round, pareto_front, regret, regret_over_seeds, rules,
                                select_all, zero_shot_choice, zero_shot_part)

# What each rule is, in a line, for the report (a rule registered elsewhere is listed by name).
RULE_LINES = {
    "source_dev": "the best source-language dev score: the study's protocol",
    "lid_aware": "the best source dev score among trials whose mean label-free wrong-language rate is under "
                 "the threshold",
    "pivot_dev": "the best mean score on the pivot languages' labeled dev data (neither source nor target)",
    "soup": "the group's soup (the average of its best trials' final weights) with the best source dev score",
    "few_shot_target": "the best mean score on the few labeled target examples held out for it",
    "oracle": "the best mean target score: it reads the target labels, so it measures what the others cost",
}


@dataclass
class Analysis:
    frame: pd.DataFrame  # every round of every trial
    final: pd.DataFrame  # the compared trials' last rounds (xlsearch.selection.comparable)
    objective: str  # e.g. source_dev/rougeL
    metric: str  # the task metric per target language, e.g. rougeL
    langs: list[str]
    threshold: float
    choices: dict[tuple[str, str], dict[str, Choice]]  # (method, intermediate_tuning) -> rule -> choice
    zero_shot: Choice  # source_dev over every compared trial: the sweep's own "best"
    soups: pd.DataFrame  # one row per soup the sweep made (may be empty)
    regrets: pd.DataFrame  # xlsearch.selection.regret_over_seeds: per group, seed and rule
    front: list[str]  # the Pareto front of source score and wrong-language rate (trial ids)


def task_of(frame: pd.DataFrame) -> Task:
    """The registered task whose objective the frame reports (each task names its own)."""
    for task in TASKS.values():
        if keys.source_dev(task.objective_metric) in frame:
            return task
    raise ValueError(f"no registered task's objective ({', '.join(keys.source_dev(t.objective_metric) for t in TASKS.values())}) "
                     "is among the sweep's metrics")


def analyze(frame: pd.DataFrame, threshold: float = 0.2) -> Analysis:
    task = task_of(frame)
    objective = keys.source_dev(task.objective_metric)
    metric = keys.metric_of(objective)
    langs = target_languages(frame)
    soups = frame.attrs.get("soups")
    soups = soups if isinstance(soups, pd.DataFrame) else pd.DataFrame()
    choices, finals = {}, []
    # Each training-data arm on its own: translate-train's groups are rows of their own, marked,
    # compared among themselves (each arm's furthest round), and never compete with the
    # zero-shot trials of their method.
    for data, part in by_train_data(frame).items():
        mark = "" if data == keys.SOURCE_DATA else f" ({data.replace('_', '-')})"
        part_final = final_rows(part)
        finals.append(part_final.assign(method=part_final["method"].astype(str) + mark))
        for (method, it), rows in part_final.groupby(list(GROUP_COLUMNS), sort=True):
            group_soups = _group_rows(soups, method, it) if data == keys.SOURCE_DATA else None
            choices[(f"{method}{mark}", it)] = select_all(rows, objective, metric, langs, threshold, group_soups)
    final = pd.concat(finals) if finals else final_rows(frame)
    zero_shot_rows = zero_shot_part(frame)
    front = pareto_front(comparable(zero_shot_rows), objective) if not zero_shot_rows.empty else []
    return Analysis(frame, final, objective, metric, langs, threshold, choices,
                    zero_shot_choice(frame, objective, langs), soups,
                    regret_over_seeds(frame, objective, metric, langs, threshold, soups if len(soups) else None),
                    front)


def _group_rows(rows: pd.DataFrame, method: str, it: str) -> pd.DataFrame | None:
    if rows.empty or not {"method", "intermediate_tuning"} <= set(rows.columns):
        return None
    return rows[(rows["method"] == method) & (rows["intermediate_tuning"] == it)]


def trial_label(row: pd.Series) -> str:
    """The trial's parameters as `xlsearch run` labels them (e.g. ``full lr=0.001 it=none``)."""
    from xlsearch.training.params import TrialParams

    method = str(row.get("method", "full"))
    config = {k: v for k, v in row.items() if (k in ("lr", "method", "intermediate_tuning", keys.TRAIN_DATA)
                                                or str(k).startswith(f"{method}."))
              and v is not None and not (isinstance(v, float) and math.isnan(v))}
    # A column holding NaN for other methods' rows is float: a rank of 16 reads 16.0 there.
    config = {k: int(v) if k.startswith(f"{method}.") and isinstance(v, float) and v.is_integer() else v
              for k, v in config.items()}
    try:
        return TrialParams.from_flat(config).label()
    except (KeyError, TypeError, ValueError):
        return f"{method} lr={float(row['lr']):.2g} it={row.get('intermediate_tuning')}"


def _zero_shot_trial(a: Analysis) -> str:
    c = a.zero_shot
    if c.trial_id is None:
        return f"none ({c.note})"
    row = a.final[a.final[keys.TRIAL_ID].astype(str) == c.trial_id].iloc[0]
    return f"trial {c.trial_id}, {trial_label(row)}"


def zero_shot_line(a: Analysis) -> str:
    """One line naming the whole sweep's zero-shot choice, as `xlsearch run` names its best."""
    score = f"  -> {a.zero_shot.source_score:.1f}" if a.zero_shot.trial_id is not None else ""
    return f"zero-shot choice, best by {a.objective} over every compared zero-shot trial: {_zero_shot_trial(a)}{score}"


def choice_table(a: Analysis, rule: str, value: str) -> pd.DataFrame:
    """Rows method x intermediate tuning; columns target languages and avg; ``value`` is
    "score" (task metric) or "wrong_language" (rate, %)."""
    records = []
    for (method, it), by_rule in a.choices.items():
        c = by_rule[rule]
        values = c.target_scores if value == "score" else {k: 100 * v for k, v in c.wrong_language.items()}
        record = {"method": method, "intermediate_tuning": it, "lr": c.lr}
        record.update({lang: values.get(lang, math.nan) for lang in a.langs})
        record["avg"] = pd.Series([values.get(lang, math.nan) for lang in a.langs], dtype=float).mean()
        records.append(record)
    return pd.DataFrame(records).set_index(["method", "intermediate_tuning"])


def seeds_table(a: Analysis) -> pd.DataFrame | None:
    """In a sweep over seeds: every compared configuration, mean ± sd over its seeds of the
    source dev score, each target language's score, the mean target score and the mean
    wrong-language rate (%); None for a sweep without seeds."""
    if keys.SEEDS not in a.final:
        return None
    from xlsearch.report import row_mean_sd as cell

    records = []
    for _, row in a.final[a.final[keys.DIVERGED] == 0].sort_values(["method", "intermediate_tuning", "lr"]).iterrows():
        record = {"method": row["method"], "intermediate_tuning": row["intermediate_tuning"], "lr": f"{row['lr']:.1e}",
                  "seeds": int(row[keys.SEEDS]), "source dev": cell(row, a.objective)}
        record.update({lang: cell(row, keys.target(lang, a.metric)) for lang in a.langs})
        record["target mean"] = cell(row, keys.target_mean(a.metric))
        record["wrong language %"] = cell(row, keys.target_mean(keys.WRONG_LANGUAGE_RATE), 100.0)
        records.append(record)
    return pd.DataFrame(records).set_index(["method", "intermediate_tuning", "lr"])


def regret_table(a: Analysis) -> pd.DataFrame:
    records = []
    for (method, it), by_rule in a.choices.items():
        o = by_rule[ORACLE_RULE]
        record = {"method": method, "intermediate_tuning": it}
        record.update({f"lr {rule}": by_rule[rule].lr for rule in rules() if rule != "soup"})
        record.update({f"regret {rule}": regret(by_rule[rule], o) for rule in rules() if rule != ORACLE_RULE})
        record["note"] = "; ".join(sorted({c.note for c in by_rule.values() if c.note}))
        records.append(record)
    return pd.DataFrame(records).set_index(["method", "intermediate_tuning"])


def regret_over_seeds_table(a: Analysis) -> pd.DataFrame:
    """Rows: each (method, intermediate tuning) group and ``all`` (every compared zero-shot trial
    together); columns: each rule's regret against the oracle, mean ± sd over the seeds (each seed's
    trials a replication of the sweep, each rule choosing within it), and how many seeds."""
    from xlsearch.report import mean_sd

    table = a.regrets
    if table.empty:
        return pd.DataFrame()
    records = []
    for (method, it), rows in table.groupby(["method", "intermediate_tuning"], sort=False):
        record = {"method": method, "intermediate_tuning": it, "seeds": rows["seed"].nunique(dropna=False)}
        for rule in rules():
            if rule == ORACLE_RULE:
                continue
            values = rows[rows["rule"] == rule]["regret"].astype(float)
            record[rule] = mean_sd(values.mean(), values.std(ddof=1)) if values.notna().any() else "–"
        records.append(record)
    out = pd.DataFrame(records)
    order = out["method"].ne("all")  # the whole sweep first
    return out.assign(_o=order).sort_values(["_o", "method", "intermediate_tuning"]).drop(columns="_o") \
        .set_index(["method", "intermediate_tuning"])


# ---------------------------------------------------------------------------------------------
# Plots


def _final_by_group(a: Analysis):
    ok = a.final[a.final[keys.DIVERGED] == 0]
    return ok.groupby("method", sort=True)


def _saved(fig: plt.Figure, path: Path) -> plt.Figure:
    """``fig`` laid out, written to ``path`` as PNG, and closed."""
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return fig


def plot_vs_lr(a: Analysis, column: str, ylabel: str, path: Path) -> plt.Figure:
    """One panel per method: ``target/<lang>/<column>`` against LR, one line per target language
    (solid: no intermediate tuning; dashed: with); in a sweep over seeds the mean, with the
    standard deviation as error bars."""
    groups = list(_final_by_group(a))
    fig, axes = plt.subplots(1, max(1, len(groups)), figsize=(5 * max(1, len(groups)), 4), squeeze=False)
    for ax, (method, rows) in zip(axes[0], groups):
        for it, it_rows in rows.groupby("intermediate_tuning"):
            it_rows = it_rows.sort_values("lr")
            for i, lang in enumerate(a.langs):
                col = keys.target(lang, column)
                if col in it_rows and it_rows[col].notna().any():
                    sd = it_rows.get(keys.SD_PREFIX + col)  # over seeds, in a sweep that has them
                    ax.errorbar(it_rows["lr"], it_rows[col], yerr=None if sd is None else sd.fillna(0),
                                marker="o", color=f"C{i}", capsize=3,
                                linestyle="-" if it == "none" else "--", label=f"{lang} (it={it})")
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())  # unreadable over narrow ranges
        ax.set_xlabel("learning rate")
        ax.set_ylabel(ylabel)
        if column.endswith("_rate"):
            ax.set_ylim(-0.03, 1.03)
        ax.set_title(method)
        ax.legend(fontsize=7)
    return _saved(fig, path)


def plot_learning_curves(a: Analysis, path: Path) -> plt.Figure:
    """The objective per round of every trial: where ASHA stopped which trial."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for trial_id, rows in a.frame.groupby(keys.TRIAL_ID):
        rows = rows.sort_values(keys.ROUND)
        stopped = rows["rounds_done"].iloc[0] < a.frame.attrs["rounds"]
        ax.plot(rows[keys.ROUND], rows[a.objective], marker="o", linestyle=":" if stopped else "-",
                label=f"{rows['method'].iloc[0]} lr={rows['lr'].iloc[0]:.1e}{' (stopped)' if stopped else ''}")
    ax.set_xlabel("eval round")
    ax.set_ylabel(a.objective)
    ax.set_title("learning curves (dotted: stopped early by ASHA)")
    ax.legend(fontsize=6)
    return _saved(fig, path)


# ---------------------------------------------------------------------------------------------
# The report


def _md_table(df: pd.DataFrame, digits: int = 1) -> str:
    df = df.reset_index()
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "---|" * len(df.columns)

    def cell(v):
        if isinstance(v, float):
            return "–" if math.isnan(v) else (f"{v:.1e}" if 0 < abs(v) < 0.01 else f"{v:.{digits}f}")
        return str(v)

    return "\n".join([head, rule, *("| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False))])


def write_report(a: Analysis, out: Path, title: str) -> list[Path]:
    """Markdown report, CSV and LaTeX tables, PNG plots into ``out``; returns the files."""
    out.mkdir(parents=True, exist_ok=True)
    files = []
    metric_name = task_of(a.frame).metric_label(a.metric)
    for rule in rules():
        for value in ("score", "wrong_language"):
            table = choice_table(a, rule, value)
            stem = out / f"table_{rule}_{value}"
            table.to_csv(stem.with_suffix(".csv"), float_format="%.4g")
            stem.with_suffix(".tex").write_text(table.to_latex(float_format="%.1f", na_rep="--"))
            files += [stem.with_suffix(".csv"), stem.with_suffix(".tex")]
    regrets = regret_table(a)
    regrets.to_csv(out / "regret.csv", float_format="%.4g")
    files.append(out / "regret.csv")
    seeds_regrets = regret_over_seeds_table(a)
    a.regrets.to_csv(out / "regret_by_seed.csv", float_format="%.4g", index=False)
    files.append(out / "regret_by_seed.csv")
    plots = {
        "score_vs_lr.png": lambda p: plot_vs_lr(a, a.metric, f"target {metric_name}", p),
        "wrong_language_vs_lr.png": lambda p: plot_vs_lr(a, keys.WRONG_LANGUAGE_RATE, "wrong-language rate", p),
        "learning_curves.png": lambda p: plot_learning_curves(a, p),
        "pareto_front.png": lambda p: plot_pareto_front(a, p),
    }
    for name, draw in plots.items():
        draw(out / name)
        files.append(out / name)

    n_trials = a.frame[keys.TRIAL_ID].nunique()
    per_trial = a.frame.groupby(keys.TRIAL_ID)
    wrong_language = (int(per_trial[keys.STOPPED_WRONG_LANGUAGE].max().sum())
                      if keys.STOPPED_WRONG_LANGUAGE in a.frame else 0)
    stopped = int((per_trial["rounds_done"].first() < a.frame.attrs["rounds"]).sum()) - wrong_language
    diverged = int(a.frame.groupby(keys.TRIAL_ID)[keys.DIVERGED].max().sum())
    top = comparable_round(a.frame)
    rounds = a.frame.attrs["rounds"]
    if top is None:
        compared = "every trial diverged, so there is nothing to compare."
    else:
        reached = (f"the final round ({rounds})" if top >= rounds else
                   f"round {top}, the furthest any trial that did not diverge got (the sweep has {rounds} rounds)")
        compared = (f"each trial's last round, for the {int((a.final[keys.DIVERGED] == 0).sum())} trials that "
                    f"reached {reached}: trials stopped earlier were scored at a lower fidelity and are not "
                    "compared with them; diverged trials are never chosen.")
    zero_shot = _zero_shot_trial(a)
    if a.zero_shot.trial_id is not None:
        zero_shot += f", `{a.objective}` {a.zero_shot.source_score:.1f}"
    lines = [
        f"# {title}: choosing the learning rate zero-shot",
        "",
        f"{n_trials} trials; {stopped} stopped early by ASHA; {wrong_language} stopped for answering in the wrong "
        f"language; {diverged} diverged. Selection compares {compared}",
        "",
        f"**Zero-shot choice for the whole sweep** (the `{ZERO_SHOT_RULE}` rule over every compared zero-shot trial, "
        f"all methods and intermediate tuning settings together; the trial `xlsearch run` names best): {zero_shot}. "
        "Translate-train rows, marked, trained on target-language translations: they are not zero-shot and are "
        "never this choice.",
        "",
        "Rules (each reads only what it says: a rule that reads no target label is handed no target-label "
        "column):",
        "",
        *rule_lines(a),
        "",
        "Every target score below is measured on the target dev examples left after the few-shot ones are held "
        "out, so no rule is scored on what it saw. The wrong-language rate is label-free: each output is judged "
        "with its input, never with a reference.",
        "",
        f"## Target {metric_name} of the source_dev choice",
        "",
        _md_table(choice_table(a, "source_dev", "score")),
        "",
        "## Wrong-language rate (%) of the source_dev choice",
        "",
        _md_table(choice_table(a, "source_dev", "wrong_language")),
        "",
        f"## Target {metric_name} of the oracle choice (not zero-shot)",
        "",
        _md_table(choice_table(a, "oracle", "score")),
        "",
        f"## LR chosen by each rule, and regret against the oracle (mean target {metric_name} points)",
        "",
        _md_table(regrets, digits=2),
        "",
        f"## Regret of each rule, per group and across the sweep (mean target {metric_name} points)",
        "",
        "Each seed's trials are a replication of the sweep: every rule chooses within it, per group and across "
        "the sweep (`all`: every compared zero-shot trial), and its regret is the oracle's mean target score "
        "minus its choice's; mean ± sd over the seeds (a soup can beat every trial: a negative regret).",
        "",
        _md_table(seeds_regrets, digits=2) if not seeds_regrets.empty else "(no comparable trial)",
        "",
        *soups_section(a, metric_name),
        *front_section(a),
        *seeds_section(a, metric_name),
        "## Plots",
        "",
        "![score vs LR](score_vs_lr.png)",
        "![wrong-language rate vs LR](wrong_language_vs_lr.png)",
        "![learning curves](learning_curves.png)",
        "![Pareto front](pareto_front.png)",
        "",
        "Tables for every rule: `table_<rule>_<score|wrong_language>.{csv,tex}`; regrets: `regret.csv`, and per "
        "seed `regret_by_seed.csv`.",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    (out / "report.html").write_text(html_page(lines, out, title), encoding="utf-8")
    files[:0] = [out / "report.md", out / "report.html"]
    return files


def rule_lines(a: Analysis) -> list[str]:
    """One bullet per registered rule: what it chooses by, and what it reads of the target labels."""
    reads = {keys.NO_TARGET_LABEL: "reads no target label", keys.FEW_TARGET_LABELS: "reads a few target labels",
             keys.TARGET_LABELS: "reads the target labels: **not zero-shot**"}
    lines = []
    for name, rule in SELECTION_RULES.items():
        what = RULE_LINES.get(name, "a registered rule")
        if name == "lid_aware":
            what = what.replace("the threshold", f"{a.threshold:g}")
        lines.append(f"- **{name}**: {what} ({reads[rule.reads]}).")
    return lines


def soups_section(a: Analysis, metric_name: str) -> list[str]:
    """The sweep's soups, one row each: the group, its members, source score, mean target score
    and wrong-language rate; none for a sweep without soups."""
    if a.soups.empty:
        return []
    records = []
    for _, row in a.soups.iterrows():
        records.append({"soup": row[keys.TRIAL_ID], "method": row.get("method"),
                        "intermediate_tuning": row.get("intermediate_tuning"),
                        "seed": row.get(keys.SEED, "–"), "of trials": row.get("soup_of"),
                        "source dev": row.get(a.objective, math.nan),
                        f"target {metric_name}": row.get(keys.target_mean(a.metric), math.nan),
                        "wrong language %": 100 * row.get(keys.target_mean(keys.WRONG_LANGUAGE_RATE), math.nan)})
    return [f"## Soups: the average of each group's best trials' final weights, evaluated as a model", "",
            _md_table(pd.DataFrame(records).set_index("soup")), ""]


def front_section(a: Analysis) -> list[str]:
    """The Pareto front of the source score (high) and the label-free wrong-language rate (low)."""
    if not a.front:
        return []
    rows = a.final[a.final[keys.TRIAL_ID].astype(str).isin(a.front)]
    wrong = keys.target_mean(keys.WRONG_LANGUAGE_RATE)
    records = [{"trial": str(row[keys.TRIAL_ID]), "configuration": trial_label(row),
                "source dev": row[a.objective], "wrong language %": 100 * row[wrong]}
               for _, row in rows.sort_values(a.objective, ascending=False).iterrows()]
    return ["## The Pareto front: source score against the wrong-language rate", "",
            "No compared zero-shot trial (configuration, over seeds) has both a higher source score and a lower "
            "label-free wrong-language rate than these; MLflow tags their runs `xlsearch.pareto_front`.", "",
            _md_table(pd.DataFrame(records).set_index("trial")), ""]


def plot_pareto_front(a: Analysis, path: Path) -> plt.Figure:
    """Every compared zero-shot configuration: its mean wrong-language rate against its source
    score, the Pareto front joined and labelled."""
    wrong = keys.target_mean(keys.WRONG_LANGUAGE_RATE)
    rows = a.final[(a.final[keys.DIVERGED] == 0)]
    fig, ax = plt.subplots(figsize=(6, 4))
    if wrong in rows and a.objective in rows:
        on = rows[keys.TRIAL_ID].astype(str).isin(a.front)
        ax.scatter(rows.loc[~on, wrong], rows.loc[~on, a.objective], color="0.6", label="dominated")
        front = rows[on].sort_values(wrong)
        ax.plot(front[wrong], front[a.objective], marker="o", color="C3", label="Pareto front")
        for _, row in front.iterrows():
            ax.annotate(trial_label(row), (row[wrong], row[a.objective]), fontsize=6, xytext=(4, 2),
                        textcoords="offset points")
    ax.set_xlabel("mean target wrong-language rate (label-free)")
    ax.set_ylabel(a.objective)
    ax.set_xlim(-0.03, 1.03)
    ax.set_title("source score against wrong-language rate")
    ax.legend(fontsize=7)
    return _saved(fig, path)


def seeds_section(a: Analysis, metric_name: str) -> list[str]:
    """The report's lines on a sweep over seeds (none for a sweep without): every configuration's
    mean ± sd; every rule above compared configurations by their mean."""
    table = seeds_table(a)
    if table is None:
        return []
    return [f"## Every configuration over its seeds: mean ± sd (target {metric_name}; wrong-language rate in %)",
            "", "Each rule above chose among configurations by their mean over the seeds; the trial it names "
            "is the configuration's first seed's.", "", _md_table(table), ""]


_IMAGE = re.compile(r"^!\[([^\]]*)\]\(([^)]+)\)$")


def _inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def html_page(lines: list[str], folder: Path, title: str) -> str:
    """The report's Markdown ``lines`` as one HTML page, its images inlined from ``folder`` as
    data URIs (the page is then whole wherever it is opened, MLflow's artifact viewer included).
    Covers what the report uses: headings, paragraphs, tables, images, bold and code."""
    body, table = [], []

    def flush_table():
        if table:
            rows = [[c.strip() for c in row.strip("|").split("|")] for row in table if not set(row) <= set("|-: ")]
            head, *rest = rows
            body.append("<table><tr>" + "".join(f"<th>{_inline(c)}</th>" for c in head) + "</tr>"
                        + "".join("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>" for r in rest)
                        + "</table>")
            table.clear()

    for line in lines:
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if image := _IMAGE.match(line):
            data = base64.b64encode((folder / image.group(2)).read_bytes()).decode("ascii")
            body.append(f'<p><img alt="{html.escape(image.group(1))}" src="data:image/png;base64,{data}"></p>')
        elif line.startswith("## "):
            body.append(f"<h2>{_inline(line[3:])}</h2>")
        elif line.startswith("# "):
            body.append(f"<h1>{_inline(line[2:])}</h1>")
        elif line.strip():
            body.append(f"<p>{_inline(line)}</p>")
    flush_table()
    style = ("body{font-family:sans-serif;max-width:1100px;margin:1em auto;padding:0 1em}"
             "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;"
             "text-align:right}td:first-child,th:first-child{text-align:left}img{max-width:100%}")
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n")
