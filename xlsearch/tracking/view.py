"""What the MLflow UI shows first for a sweep: a saved view of its runs, and the address that opens it.

MLflow 3.17's UI lets a client set this state (read from its JS bundle, checked in Chromium):

- ``?workflowType=machine_learning`` in the address: the experiment opens in the model-training
  view (runs) instead of the GenAI traces page. The experiment tag ``mlflow.experimentKind`` is
  not read by this UI version, so the address is the only way.
- A saved view: the experiment tag ``mlflow.sharedViewState.<key>`` holding
  ``{"name", "createdAt", "state"}``, where ``state`` is the JSON of the runs page's search
  facets (``searchFilter``, ``orderByKey``, ``orderByAsc``, ...) and its UI state (selected
  columns and their order and widths, which runs charts show, the chart sections and cards).
  ``?viewStateShareKey=<key>`` applies it; it is also listed in the page's "Saved views" menu.
  While it is applied MLflow says "You're viewing a shared view" and keeps the user's own
  changes out of it unless they override it.
- ``?compareRunsMode=CHART`` opens the chart view of the same page.

What it cannot set: which runs are expanded under a parent (left out of saved views; parents
stay collapsed when runs are sorted by start time, and are listed flat beside their children
when sorted by a metric, as here), the separate Compare page's plots, and the axis scale of a
scatter chart (hence the ``log10_lr`` metric). Pure functions of their arguments; the tracker
writes the tag.
"""
from __future__ import annotations

import json
import time
import urllib.parse
from dataclasses import dataclass

VIEW_KEY = "xlsearch-study"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
VIEW_NAME = "xlsearch: the study"
STUDY_SECTION = "xlsearch-study-charts"
STUDY_SECTION_NAME = "the study"


@dataclass(frozen=True)
class Headline:
    """The metric and param names a user reads first (the caller spells them from ``xlsearch.keys``)."""

    objective: str  # the source-language dev score the search maximises, e.g. source_dev/rougeL
    wrong_rate: str  # the mean target wrong-language rate
    target_score: str  # the mean target task score (a zero-shot user cannot see it)
    lr: str = "lr"  # the LR as a numeric metric
    log10_lr: str = "log10_lr"
    method: str = "method"  # params
    intermediate_tuning: str = "intermediate_tuning"


def _col(kind: str, name: str) -> str:
    """A column's key as the runs table names it: ``metrics.`source_dev/rougeL```."""
    return f"{kind}.`{name}`"


def view_state(h: Headline) -> dict:
    """The runs page's state: sorted by the objective (best first), the headline columns, every
    run plotted (MLflow plots only the first 10 by default), and a first chart section that
    shows the study: source score against wrong-language rate, the LR against both, and the
    method and intermediate tuning beside the scores in parallel coordinates. MLflow adds its
    own chart per metric in sections after this one."""
    columns = [_col("params", h.method), _col("params", h.intermediate_tuning), _col("metrics", h.lr),
               _col("metrics", h.objective), _col("metrics", h.wrong_rate), _col("metrics", h.target_score)]
    # Wide enough for the metric names in the headers (MLflow cuts them at ~100 px).
    widths = {_col("metrics", name): 7 * len(name) + 40 for name in (h.objective, h.wrong_rate, h.target_score)}

    def scatter(uuid: str, x: str, y: str) -> dict:  # MLflow titles it "<x> vs. <y>"
        return {"uuid": uuid, "type": "SCATTER", "metricSectionId": STUDY_SECTION,
                "deleted": False, "isGenerated": False, "runsCountToCompare": 1000,
                "xaxis": {"key": x, "type": "METRIC"}, "yaxis": {"key": y, "type": "METRIC"}}

    charts = [
        scatter("xlsearch-score-vs-wrong", h.wrong_rate, h.objective),
        scatter("xlsearch-wrong-vs-lr", h.log10_lr, h.wrong_rate),
        scatter("xlsearch-score-vs-lr", h.log10_lr, h.objective),
        {"uuid": "xlsearch-parallel", "type": "PARALLEL", "metricSectionId": STUDY_SECTION, "deleted": False,
         "isGenerated": False, "runsCountToCompare": 1000, "showAllRuns": True,
         "selectedParams": [h.method, h.intermediate_tuning],
         # The last axis colours the lines: the wrong-language rate, the study's finding.
         "selectedMetrics": [h.log10_lr, h.objective, h.target_score, h.wrong_rate]},
    ]
    return {
        "searchFilter": "", "orderByKey": _col("metrics", h.objective), "orderByAsc": False,
        "selectedColumns": columns, "columnOrder": columns, "columnWidths": widths,
        "runsHiddenMode": "SHOW_ALL", "useGroupedValuesInCharts": False, "hideEmptyCharts": True,
        # Keeps the study's section first; MLflow sorts sections by name otherwise.
        "isAccordionReordered": True,
        "compareRunSections": [{"uuid": STUDY_SECTION, "name": STUDY_SECTION_NAME,
                                "display": True, "isReordered": True, "deleted": False, "isGenerated": False,
                                "columns": 2, "cardHeight": 400}],
        "compareRunCharts": charts,
    }


def view_tag_value(h: Headline, created_ms: int | None = None) -> str:
    """The saved view's tag value: MLflow's envelope around the state's JSON."""
    created = int(time.time() * 1000) if created_ms is None else created_ms
    return json.dumps({"name": VIEW_NAME, "createdAt": created, "updatedAt": created,
                       "state": json.dumps(view_state(h))})


def runs_address(base_url: str, experiment_id: str, *, with_view: bool = True, charts: bool = False) -> str:
    """The address of an experiment's runs in the model-training view, with the saved view applied."""
    query = {"workflowType": "machine_learning"}
    if with_view:
        query["viewStateShareKey"] = VIEW_KEY
    if charts:
        query["compareRunsMode"] = "CHART"
    return f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/runs?{urllib.parse.urlencode(query)}"


def run_address(experiment_id: str, run_id: str) -> str:
    """A run's page, relative to the UI's address (the host and port are only known when it is served)."""
    return f"#/experiments/{experiment_id}/runs/{run_id}"
