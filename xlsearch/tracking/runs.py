"""MLflow runs: one parent run per sweep, one nested child run per trial.

The caller is a Ray Tune callback in a long-lived driver that logs many trials interleaved, so
every call names its run explicitly (``MlflowClient``, never ``mlflow.start_run``'s global active
run). Starting a sweep or a trial is idempotent: a restarted driver finds the runs it made
before by their tags and continues them instead of making new ones.

Secrets never reach MLflow: everything logged as a param or tag passes
:func:`~xlsearch.tracking.secrets.scrub`, and the spec text passes ``redact``.
"""
from __future__ import annotations

import json
import logging
import math
import numbers
import time
from pathlib import Path
from typing import Any, Iterator, Literal

import yaml
from mlflow.entities import Metric, Param, RunTag, ViewType
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID
from mlflow.utils.validation import (
    MAX_METRICS_PER_BATCH,
    MAX_PARAM_VAL_LENGTH,
    MAX_PARAMS_TAGS_PER_BATCH,
    MAX_TAG_VAL_LENGTH,
)

from xlsearch.tracking.secrets import redact, scrub
from xlsearch.tracking.store import default_artifact_root, is_remote, sqlite_path
from xlsearch.tracking.view import VIEW_TAG, Headline, run_address, view_tag_value

logger = logging.getLogger(__name__)

TAG_SWEEP = "xlsearch.sweep"
TAG_ROLE = "xlsearch.role"
TAG_TRIAL_ID = "xlsearch.trial_id"
TAG_NOTE = "mlflow.note.content"  # the run's description, rendered as Markdown on its page
END_STATUSES = ("FINISHED", "FAILED", "KILLED")


def _param_value(value: Any) -> str:
    return str(value)[:MAX_PARAM_VAL_LENGTH]


def _tag_value(value: Any) -> str:
    return str(value)[:MAX_TAG_VAL_LENGTH]


def _metric_value(value: Any) -> float | None:
    """The float MLflow stores, or None for what is not a metric (strings, lists, +-inf)."""
    if isinstance(value, bool):
        return float(int(value))
    if not isinstance(value, numbers.Real):
        return None
    value = float(value)
    return value if math.isfinite(value) or math.isnan(value) else None


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _flatten(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


# --- the tracker --------------------------------------------------------------------------

class SweepTracker:
    """Logs one sweep to MLflow: a parent run, and a child run per trial nested under it.

    ``tracking_uri`` is a ``sqlite:///`` store (see :func:`default_tracking_uri`) or an
    ``http(s)://`` tracking server; the experiment is created if missing.
    """

    def __init__(self, tracking_uri: str, experiment: str, sweep_dir: Path):
        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self.experiment_id = self._experiment_id(experiment, Path(sweep_dir))
        self.sweep_name: str | None = None
        self.sweep_run_id: str | None = None
        self._trial_runs: dict[str, str] = {}
        self._names: set[str] | None = None

    def _experiment_id(self, name: str, sweep_dir: Path) -> str:
        db = sqlite_path(self.tracking_uri)
        if db is not None:
            db.parent.mkdir(parents=True, exist_ok=True)
        exp = self.client.get_experiment_by_name(name)
        if exp is None:
            # A server decides where artifacts go (it may proxy them); a local store must be
            # told, or they land in ./mlruns of the current directory.
            location = None if is_remote(self.tracking_uri) else default_artifact_root(sweep_dir)
            return self.client.create_experiment(name, artifact_location=location)
        if exp.lifecycle_stage == "deleted":
            raise ValueError(
                f"tracking.experiment = {name!r}: deleted in {self.tracking_uri}; restore it "
                f"(mlflow experiments restore --experiment-id {exp.experiment_id}) or pick another")
        return exp.experiment_id

    # -- sweep --

    def start_sweep(self, name: str, spec_dict: dict[str, Any], spec_path: Path | None = None, *,
                    planned_trials: int | None = None, headline: Headline | None = None) -> str:
        """Open the sweep's parent run and return its id. A sweep that already has a parent run
        in this experiment (the newest, finished or not) is reopened and continued.

        ``planned_trials`` is logged as a param (a grid's size; ``num_samples`` only for a
        sampler, which a grid ignores). With ``headline``, the experiment gets the saved view
        of :mod:`xlsearch.tracking.view` unless it has one (a user may have overridden it)."""
        found = self._search(f"tags.`{TAG_SWEEP}` = '{name}' and tags.`{TAG_ROLE}` = 'sweep'",
                             max_results=1)
        if found:
            run_id = found[0].info.run_id
            if found[0].info.status != "RUNNING":
                self.client.update_run(run_id, status="RUNNING")
        else:
            run_id = self.client.create_run(
                self.experiment_id, run_name=name,
                tags=scrub({TAG_SWEEP: name, TAG_ROLE: "sweep"})).info.run_id
        self.sweep_name, self.sweep_run_id = name, run_id

        search = spec_dict.get("search") or {}
        grid = search.get("algorithm") == "grid"
        params = {"task": spec_dict.get("task"), "model": spec_dict.get("model"),
                  "algorithm": search.get("algorithm"),
                  "num_samples": None if grid else search.get("num_samples"),
                  "planned_trials": planned_trials,
                  "target_languages": ",".join(spec_dict.get("target_languages") or [])}
        changed = self._log_params(run_id, {k: v for k, v in params.items() if v not in (None, "")})
        for key, (old, new) in changed.items():
            # Params cannot change in MLflow; spec.yaml below records what this run used.
            logger.warning("sweep %s: %s was %r when the sweep started, now %r; MLflow keeps %r",
                           name, key, old, new, old)
        text = (Path(spec_path).read_text(encoding="utf-8") if spec_path is not None
                else yaml.safe_dump(spec_dict, sort_keys=False, allow_unicode=True))
        self.client.log_text(run_id, redact(text), "spec.yaml")
        if headline is not None:
            self.save_view(headline)
        return run_id

    def save_view(self, headline: Headline, replace: bool = False) -> bool:
        """The experiment's saved view (:func:`save_view`)."""
        return save_view(self.client, self.experiment_id, headline, replace)

    def attach(self, sweep_run_id: str) -> None:
        """Continue a sweep whose parent run another process opened (the driver's callback)."""
        self.sweep_run_id = sweep_run_id
        self.sweep_name = self.client.get_run(sweep_run_id).data.tags.get(TAG_SWEEP)

    def end_sweep(self, status: Literal["FINISHED", "FAILED", "KILLED"] = "FINISHED",
                  best: dict[str, Any] | None = None, tags: dict[str, Any] | None = None) -> None:
        """Close the parent run; ``best`` (nested dicts allowed) becomes tags ``best.<key>``,
        ``tags`` are set as given.

        When ``best`` names a ``trial_id`` whose run exists, the parent also gets that run's
        latest metrics (so the parent's row in the runs table reads as the sweep's result), tags
        ``best.run_id``, ``best.run_name`` and ``best.run_link`` (the run's page, relative to the
        UI's address), and a description that links to it."""
        _check_status(status)
        run_id = self._require_sweep()
        if best:
            self._set_tags(run_id, {f"best.{k}": v for k, v in _flatten(best).items()})
            best_run = self._find_trial(str(best["trial_id"])) if best.get("trial_id") is not None else None
            if best_run is not None:
                self._copy_best(run_id, self.client.get_run(best_run), best)
        if tags:
            self._set_tags(run_id, tags)
        self.client.set_terminated(run_id, status=status)

    def _copy_best(self, parent_id: str, best_run, best: dict[str, Any]) -> None:
        now = int(time.time() * 1000)
        entries = []
        for key, value in best_run.data.metrics.items():
            history = self.client.get_metric_history(best_run.info.run_id, key)
            step = max((m.step for m in history), default=0)
            entries.append(Metric(key, value, now, step))
        for batch in _chunks(entries, MAX_METRICS_PER_BATCH):
            self.client.log_batch(parent_id, metrics=batch)
        link = run_address(self.experiment_id, best_run.info.run_id)
        scores = ", ".join(f"`{k}` {v:.4g}" for k, v in best.items()
                           if isinstance(v, numbers.Real) and not isinstance(v, bool))
        note = (f"Best trial (the zero-shot choice, by the source-language dev score): "
                f"[{best_run.info.run_name}]({link}), trial `{best['trial_id']}`"
                + (f"; {scores}" if scores else "") + ". Its metrics are copied onto this run.")
        self._set_tags(parent_id, {"best.run_id": best_run.info.run_id, "best.run_name": best_run.info.run_name,
                                   "best.run_link": link, TAG_NOTE: note})

    # -- trials --

    def start_trial(self, trial_id: str, params: dict[str, Any], *, run_name: str | None = None,
                    tags: dict[str, Any] | None = None, metrics: dict[str, Any] | None = None,
                    role: str = "trial") -> str:
        """Open (or, after a driver restart, find again) the child run of one trial and log its
        flat config as params. Returns the run id.

        The run is named ``run_name`` (made distinct within the sweep by adding the trial id
        where another trial has the name already), or else ``trial-<id>`` followed by the
        config's method and lr. The trial id, ``role`` (``trial``; ``soup`` for a soup of trials)
        and sweep are tags, besides ``tags``;
        ``metrics`` (numbers that describe the trial, such as its lr) are logged at step 0 when
        the run is made."""
        parent = self._require_sweep()
        run_id = self._find_trial(trial_id)
        if run_id is None:
            if run_name is None:
                label = _default_label(params)
                run_name = f"trial-{trial_id}" + (f" {label}" if label else "")
            elif run_name in self._sibling_names():
                run_name = f"{run_name} · {trial_id}"
            run_id = self.client.create_run(
                self.experiment_id, run_name=run_name,
                tags=scrub({**(tags or {}), MLFLOW_PARENT_RUN_ID: parent, TAG_TRIAL_ID: trial_id,
                            TAG_ROLE: role, TAG_SWEEP: self.sweep_name or ""})).info.run_id
            self._sibling_names().add(run_name)
            self._trial_runs[trial_id] = run_id
            if metrics:
                self.log_round(trial_id, metrics, step=0)
        elif self.client.get_run(run_id).info.status != "RUNNING":
            self.client.update_run(run_id, status="RUNNING")
        self._trial_runs[trial_id] = run_id
        changed = self._log_params(run_id, params)
        if changed:
            key, (old, new) = next(iter(changed.items()))
            raise ValueError(f"trial {trial_id}: param {key} = {new!r}, but its MLflow run "
                             f"{run_id} has {old!r}; a trial's config cannot change")
        return run_id

    def log_round(self, trial_id: str, metrics: dict[str, Any], step: int) -> None:
        """Log one evaluation round's metrics at ``step``. Numbers (and NaN) are logged, bools as
        0/1; strings, lists and +-inf are skipped. Names are kept as given (``target/de/f1``)."""
        run_id = self._trial_run(trial_id)
        now = int(time.time() * 1000)
        entries = [Metric(key, value, now, int(step)) for key, raw in metrics.items()
                   if (value := _metric_value(raw)) is not None]
        for batch in _chunks(entries, MAX_METRICS_PER_BATCH):
            self.client.log_batch(run_id, metrics=batch)

    def log_samples(self, trial_id: str, samples: list[dict[str, str]], step: int) -> None:
        """Store a round's example outputs as ``samples/round_<step>.json`` (UTF-8, unescaped)."""
        text = json.dumps(samples, ensure_ascii=False, indent=1)
        self.client.log_text(self._trial_run(trial_id), text, f"samples/round_{int(step)}.json")

    def log_artifacts(self, run: str, local_path: str | Path, artifact_path: str | None = None) -> None:
        """Upload a file or a directory to the sweep's run (``run="sweep"``) or a trial's run."""
        run_id = self._require_sweep() if run == "sweep" else self._trial_run(run)
        local_path = Path(local_path)
        if local_path.is_dir():
            self.client.log_artifacts(run_id, str(local_path), artifact_path)
        elif local_path.is_file():
            self.client.log_artifact(run_id, str(local_path), artifact_path)
        else:
            raise FileNotFoundError(f"log_artifacts: {local_path} does not exist")

    def end_trial(self, trial_id: str, status: Literal["FINISHED", "FAILED", "KILLED"] = "FINISHED",
                  tags: dict[str, Any] | None = None) -> None:
        """Close a trial's run with ``status``, setting ``tags`` (scrubbed) first."""
        _check_status(status)
        run_id = self._trial_run(trial_id)
        if tags:
            self._set_tags(run_id, tags)
        self.client.set_terminated(run_id, status=status)

    def tag_trial(self, trial_id: str, tags: dict[str, Any]) -> None:
        """Set ``tags`` (scrubbed) on a trial's run, open or closed."""
        self._set_tags(self._trial_run(trial_id), tags)

    def end_open_trials(self, status: Literal["FINISHED", "FAILED", "KILLED"],
                        tags: dict[str, Any] | None = None) -> list[str]:
        """Close every trial run of this sweep still RUNNING with ``status`` and ``tags``;
        returns their trial ids."""
        _check_status(status)
        ended = []
        for run in self.child_runs():
            if run.info.status == "RUNNING":
                if tags:
                    self._set_tags(run.info.run_id, tags)
                self.client.set_terminated(run.info.run_id, status=status)
                ended.append(run.data.tags.get(TAG_TRIAL_ID, run.info.run_id))
        return ended

    def child_runs(self) -> list:
        """All trial runs under this sweep's parent run (``mlflow.entities.Run``), newest first."""
        return self._search(f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{self._require_sweep()}'")

    # -- helpers --

    def _search(self, filter_string: str, max_results: int | None = None) -> list:
        runs, token = [], None
        while True:
            page = self.client.search_runs(
                [self.experiment_id], filter_string, run_view_type=ViewType.ACTIVE_ONLY,
                max_results=max_results or 1000, order_by=["attributes.start_time DESC"],
                page_token=token)
            runs.extend(page)
            token = page.token
            if not token or (max_results and len(runs) >= max_results):
                return runs

    def _sibling_names(self) -> set[str]:
        """The names of this sweep's trial runs (read once, then kept up to date here)."""
        if self._names is None:
            self._names = {r.info.run_name for r in self.child_runs()}
        return self._names

    def _require_sweep(self) -> str:
        if self.sweep_run_id is None:
            raise RuntimeError("SweepTracker: call start_sweep() before logging trials")
        return self.sweep_run_id

    def _find_trial(self, trial_id: str) -> str | None:
        if trial_id in self._trial_runs:
            return self._trial_runs[trial_id]
        found = self._search(f"tags.`{MLFLOW_PARENT_RUN_ID}` = '{self._require_sweep()}' "
                             f"and tags.`{TAG_TRIAL_ID}` = '{trial_id}'", max_results=1)
        return found[0].info.run_id if found else None

    def _trial_run(self, trial_id: str) -> str:
        run_id = self._find_trial(trial_id)
        if run_id is None:
            raise KeyError(f"trial {trial_id}: no MLflow run; call start_trial() first")
        self._trial_runs[trial_id] = run_id
        return run_id

    def _log_params(self, run_id: str, params: dict[str, Any]) -> dict[str, tuple[str, str]]:
        """Log the scrubbed ``params`` the run lacks; return ``{key: (logged, new)}`` for those it
        has with another value (MLflow raises on changing a param, so those are not sent)."""
        existing = self.client.get_run(run_id).data.params
        new, changed = [], {}
        for key, value in scrub(params).items():
            value = _param_value(value)
            if key not in existing:
                new.append(Param(key, value))
            elif existing[key] != value:
                changed[key] = (existing[key], value)
        for batch in _chunks(new, MAX_PARAMS_TAGS_PER_BATCH):
            self.client.log_batch(run_id, params=batch)
        return changed

    def _set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        entries = [RunTag(k, _tag_value(v)) for k, v in scrub(tags).items()]
        for batch in _chunks(entries, MAX_PARAMS_TAGS_PER_BATCH):
            self.client.log_batch(run_id, tags=batch)


def save_view(client: MlflowClient, experiment_id: str, headline: Headline, replace: bool = False) -> bool:
    """Give an experiment the saved view the UI opens with (:mod:`xlsearch.tracking.view`); an
    existing one is kept unless ``replace`` (the user may have overridden it in the UI).
    Returns whether the tag was written."""
    if not replace and VIEW_TAG in client.get_experiment(experiment_id).tags:
        return False
    client.set_experiment_tag(experiment_id, VIEW_TAG, view_tag_value(headline))
    return True


def _check_status(status: str) -> None:
    if status not in END_STATUSES:
        raise ValueError(f"status = {status!r}: one of {', '.join(END_STATUSES)}")


def _default_label(params: dict[str, Any]) -> str:
    parts = []
    if "method" in params:
        parts.append(str(params["method"]))
    if isinstance(params.get("lr"), numbers.Real):
        parts.append(f"lr={params['lr']:.2g}")
    return " ".join(parts)
