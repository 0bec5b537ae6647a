"""MLflow tracking on a real SQLite store: parent/child runs, resume, secrets, and a real server."""
from __future__ import annotations

import json
import math
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from mlflow_server import serve
from xlsearch.tracking import (
    SweepTracker,
    default_artifact_root,
    default_tracking_uri,
    is_secret_name,
    scrub,
    ui_command,
)

SPEC = {"name": "demo", "task": "xquad", "model": "tiny-mt5", "target_languages": ["de", "ar"],
        "search": {"algorithm": "grid", "num_samples": 3}}
CONFIGS = {
    "t0": {"lr": 1e-4, "method": "full", "intermediate_tuning": "none"},
    "t1": {"lr": 3e-4, "method": "lora", "lora.r": 8, "intermediate_tuning": "none"},
    "t2": {"lr": 1e-3, "method": "prompt_tuning", "prompt_tuning.num_virtual_tokens": 20,
           "intermediate_tuning": "none"},
}
STEPS = (100, 200)
SAMPLE = {"lang": "ar", "prediction": "ما هي عاصمة ألمانيا؟ Größe — 東京"}


def f1(trial: str, step: int) -> float:
    return round(0.1 * (int(trial[1]) + 1) + step / 1000, 4)


def log_sweep(uri: str, sweep_dir: Path, experiment: str) -> SweepTracker:
    """Parent + the 3 trials of CONFIGS, two rounds each, samples at the last round."""
    tracker = SweepTracker(uri, experiment, sweep_dir)
    tracker.start_sweep("demo", SPEC, None, planned_trials=3)
    for trial, config in CONFIGS.items():
        tracker.start_trial(trial, config)
    for step in STEPS:  # interleaved, as Tune reports them
        for trial in CONFIGS:
            tracker.log_round(trial, {"target/de/f1": f1(trial, step), "source_dev_score": 0.5,
                                      "wrong_language_rate": float("nan"), "diverged": False,
                                      "loss": float("inf"), "lang": "de", "hist": [1, 2]}, step)
    for trial in CONFIGS:
        tracker.log_samples(trial, [SAMPLE], STEPS[-1])
    return tracker


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> tuple[str, Path]:
    sweep_dir = tmp_path_factory.mktemp("sweep")
    return default_tracking_uri(sweep_dir), sweep_dir


@pytest.fixture(scope="module")
def demo(store) -> SweepTracker:
    uri, sweep_dir = store
    return log_sweep(uri, sweep_dir, "xl")


def runs_by_role(tracker: SweepTracker) -> dict[str, list]:
    runs = tracker.client.search_runs([tracker.experiment_id], max_results=1000)
    out: dict[str, list] = {"sweep": [], "trial": []}
    for run in runs:
        out[run.data.tags["xlsearch.role"]].append(run)
    return out


def test_default_locations(tmp_path):
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    assert default_artifact_root(tmp_path) == f"file://{tmp_path.resolve()}/mlartifacts"


def test_one_parent_and_a_nested_child_per_trial(demo, store):
    _, sweep_dir = store
    runs = runs_by_role(demo)
    assert len(runs["sweep"]) == 1 and len(runs["trial"]) == 3
    parent = runs["sweep"][0]
    assert parent.info.run_id == demo.sweep_run_id
    assert parent.info.run_name == "demo"
    assert parent.data.tags["xlsearch.sweep"] == "demo"
    # A grid's size is its planned trials; num_samples is a sampler's and a grid ignores it.
    assert parent.data.params == {"task": "xquad", "model": "tiny-mt5", "algorithm": "grid",
                                  "planned_trials": "3", "target_languages": "de,ar"}
    # Artifacts go to the sweep directory, not ./mlruns of the current directory.
    assert parent.info.artifact_uri.startswith(default_artifact_root(sweep_dir))
    spec_file = Path(sweep_dir, "mlartifacts", parent.info.run_id, "artifacts", "spec.yaml")
    assert "num_samples: 3" in spec_file.read_text(encoding="utf-8")

    children = {r.data.tags["xlsearch.trial_id"]: r for r in runs["trial"]}
    assert set(children) == set(CONFIGS)
    assert {r.info.run_id for r in demo.child_runs()} == {r.info.run_id for r in children.values()}
    for trial, run in children.items():
        assert run.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert run.info.run_name.startswith(f"trial-{trial} ")
        assert run.data.params == {k: str(v) for k, v in CONFIGS[trial].items()}
        history = demo.client.get_metric_history(run.info.run_id, "target/de/f1")
        assert sorted((m.step, m.value) for m in history) == [(s, f1(trial, s)) for s in STEPS]
        # Numbers and NaN are logged, bools as 0/1; strings, lists and inf are skipped.
        assert set(run.data.metrics) == {"target/de/f1", "source_dev_score",
                                         "wrong_language_rate", "diverged"}
        assert math.isnan(run.data.metrics["wrong_language_rate"])
        assert run.data.metrics["diverged"] == 0.0
        local = demo.client.download_artifacts(run.info.run_id, "samples/round_200.json",
                                               str(sweep_dir / f"dl-{trial}"))
        raw = Path(local).read_text(encoding="utf-8")
        assert SAMPLE["prediction"] in raw  # unescaped, not \\u0645...
        assert json.loads(raw) == [SAMPLE]


def test_end_statuses_and_best_tags(store):
    uri, sweep_dir = store
    tracker = SweepTracker(uri, "xl-ends", sweep_dir)
    tracker.start_sweep("demo", SPEC, None)
    tracker.start_trial("a", {"lr": 0.1})
    tracker.start_trial("b", {"lr": 0.2})
    tracker.end_trial("a", "FINISHED", tags={"stop_reason": "max_t"})
    tracker.end_trial("b", "KILLED")
    tracker.end_sweep("FINISHED", best={"trial_id": "a", "config": {"lr": 0.1},
                                         "metrics": {"source_dev_score": 0.7}})
    status = {r.data.tags["xlsearch.trial_id"]: r.info.status for r in tracker.child_runs()}
    assert status == {"a": "FINISHED", "b": "KILLED"}
    trial_a = tracker.client.get_run(tracker._trial_run("a"))
    assert trial_a.data.tags["stop_reason"] == "max_t"
    parent = tracker.client.get_run(tracker.sweep_run_id)
    assert parent.info.status == "FINISHED"
    run_a = tracker._trial_run("a")
    assert {k: v for k, v in parent.data.tags.items() if k.startswith("best.")} == {
        "best.trial_id": "a", "best.config.lr": "0.1", "best.metrics.source_dev_score": "0.7",
        "best.run_id": run_a, "best.run_name": "trial-a lr=0.1",
        "best.run_link": f"#/experiments/{tracker.experiment_id}/runs/{run_a}"}
    with pytest.raises(ValueError, match="status = 'DONE'"):
        tracker.end_trial("a", "DONE")
    with pytest.raises(KeyError, match="trial c: no MLflow run"):
        tracker.log_round("c", {"loss": 1.0}, 1)


def test_restarted_driver_continues_the_same_runs(store):
    uri, sweep_dir = store
    first = log_sweep(uri, sweep_dir, "xl-resume")
    first.end_trial("t0", "KILLED")
    first.end_sweep("FINISHED")
    before = {r.data.tags["xlsearch.trial_id"]: r.info.run_id for r in first.child_runs()}

    again = SweepTracker(uri, "xl-resume", sweep_dir)  # a new driver process, same store
    assert again.start_sweep("demo", SPEC, None) == first.sweep_run_id
    for trial, config in CONFIGS.items():
        assert again.start_trial(trial, config) == before[trial]
    again.log_round("t0", {"target/de/f1": 0.9}, 300)

    runs = runs_by_role(again)
    assert len(runs["sweep"]) == 1 and len(runs["trial"]) == 3
    assert runs["sweep"][0].info.status == "RUNNING"  # reopened
    history = again.client.get_metric_history(before["t0"], "target/de/f1")
    assert sorted((m.step, m.value) for m in history) == [
        (100, f1("t0", 100)), (200, f1("t0", 200)), (300, 0.9)]
    assert again.client.get_run(before["t0"]).info.status == "RUNNING"
    # A trial's config is fixed: the same id with another lr is a bug, not a new param value.
    with pytest.raises(ValueError, match="param lr = '0.5'.*has '0.0003'"):
        again.start_trial("t1", {**CONFIGS["t1"], "lr": 0.5})


def test_trials_get_distinct_readable_names_group_tags_a_numeric_lr_and_their_sweep(store):
    """Through the sweep's own Tune callback, as the driver calls it (a trial is an id and a config)."""
    from types import SimpleNamespace

    from xlsearch.sweep.callbacks import MLflowTracking

    uri, sweep_dir = store
    driver = SweepTracker(uri, "xl-names", sweep_dir)
    parent = driver.start_sweep("names", SPEC, None)
    callback = MLflowTracking(uri, "xl-names", str(sweep_dir), parent, rounds=2)
    configs = {"a_00000": {"lr": 1e-3, "method": "full", "intermediate_tuning": "none"},
               "a_00001": {"lr": 1e-5, "method": "full", "intermediate_tuning": "sc-60"},
               "a_00002": {"lr": 3e-4, "method": "adapters", "adapters.rank": 4, "intermediate_tuning": "none"},
               "a_00003": {"lr": 3e-4, "method": "adapters", "adapters.rank": 8, "intermediate_tuning": "none"},
               # Optuna can sample two LRs that print alike: the second name gets its trial id.
               "a_00004": {"lr": 1.0001e-3, "method": "full", "intermediate_tuning": "none"}}
    for trial_id, config in configs.items():
        callback.on_trial_start(0, [], SimpleNamespace(trial_id=trial_id, config=config))
    runs = {r.data.tags["xlsearch.trial_id"]: r for r in driver.child_runs()}
    assert {t: r.info.run_name for t, r in runs.items()} == {
        "a_00000": "full · lr 1e-3 · it none", "a_00001": "full · lr 1e-5 · it sc-60",
        "a_00002": "adapters rank 4 · lr 3e-4 · it none", "a_00003": "adapters · lr 3e-4 · it none",
        "a_00004": "full · lr 1e-3 · it none · a_00004"}
    for trial_id, run in runs.items():
        assert run.data.tags["xlsearch.sweep"] == "names"
        assert run.data.tags["method"] == configs[trial_id]["method"]
        assert run.data.tags["intermediate_tuning"] == configs[trial_id]["intermediate_tuning"]
        assert run.data.metrics["lr"] == configs[trial_id]["lr"]
        assert run.data.metrics["log10_lr"] == pytest.approx(math.log10(configs[trial_id]["lr"]))
    # Numeric: MLflow sorts and filters the LR as a number (a param would put 1e-05 after 0.001).
    ascending = driver.client.search_runs([driver.experiment_id], "metrics.lr < 0.0005",
                                          order_by=["metrics.lr ASC"])
    assert [r.data.metrics["lr"] for r in ascending] == [1e-5, 3e-4, 3e-4]


def test_the_parent_run_carries_the_best_trial(store):
    uri, sweep_dir = store
    tracker = SweepTracker(uri, "xl-best", sweep_dir)
    tracker.start_sweep("best", SPEC, None)
    for trial, config in CONFIGS.items():
        tracker.start_trial(trial, config)
        for step in STEPS:
            tracker.log_round(trial, {"source_dev/f1": f1(trial, step), "target_mean/f1": 2 * f1(trial, step)}, step)
    tracker.end_sweep("FINISHED", best={"trial_id": "t2", "config": CONFIGS["t2"], "source_dev/f1": f1("t2", 200)})
    parent = tracker.client.get_run(tracker.sweep_run_id)
    best = tracker.client.get_run(tracker._trial_run("t2"))
    assert parent.data.metrics == best.data.metrics == {"source_dev/f1": f1("t2", 200), "target_mean/f1": 2 * f1("t2", 200)}
    assert [(m.step, m.value) for m in tracker.client.get_metric_history(parent.info.run_id, "source_dev/f1")] == [
        (200, f1("t2", 200))]
    tags = parent.data.tags
    link = f"#/experiments/{tracker.experiment_id}/runs/{best.info.run_id}"
    name = best.info.run_name
    assert (tags["best.run_id"], tags["best.run_name"], tags["best.run_link"]) == (best.info.run_id, name, link)
    assert tags["best.trial_id"] == "t2" and tags["best.config.method"] == "prompt_tuning"
    assert f"[{name}]({link})" in tags["mlflow.note.content"]


def test_the_saved_view_sorts_by_the_objective_and_shows_the_headline_columns(store):
    from xlsearch import keys
    from xlsearch.tracking import VIEW_TAG, Headline, runs_address

    uri, sweep_dir = store
    tracker = SweepTracker(uri, "xl-view", sweep_dir)
    tracker.start_sweep("view", SPEC, None, headline=Headline(**keys.headline("source_dev/f1")))
    envelope = json.loads(tracker.client.get_experiment(tracker.experiment_id).tags[VIEW_TAG])
    assert envelope["name"] == "xlsearch: the study" and isinstance(envelope["createdAt"], int)
    state = json.loads(envelope["state"])
    assert (state["orderByKey"], state["orderByAsc"]) == ("metrics.`source_dev/f1`", False)
    assert state["selectedColumns"] == [
        "params.`method`", "params.`intermediate_tuning`", "metrics.`lr`", "metrics.`source_dev/f1`",
        "metrics.`target_mean/wrong_language_rate`", "metrics.`target_mean/f1`"]
    assert state["runsHiddenMode"] == "SHOW_ALL"
    scatter = state["compareRunCharts"][0]
    assert (scatter["type"], scatter["xaxis"]["key"], scatter["yaxis"]["key"]) == (
        "SCATTER", "target_mean/wrong_language_rate", "source_dev/f1")
    # A view the user has overridden in the UI is kept; the address applies it.
    tracker.client.set_experiment_tag(tracker.experiment_id, VIEW_TAG, "theirs")
    assert not tracker.save_view(Headline(**keys.headline("source_dev/f1")))
    assert tracker.client.get_experiment(tracker.experiment_id).tags[VIEW_TAG] == "theirs"
    assert runs_address("http://127.0.0.1:5000/", "7") == (
        "http://127.0.0.1:5000/#/experiments/7/runs?workflowType=machine_learning&viewStateShareKey=xlsearch-study")


def test_a_copied_or_moved_sweep_reads_its_own_artifacts(tmp_path):
    import shutil

    from xlsearch.tracking import reroot_artifacts

    first = tmp_path / "first"
    tracker = log_sweep(default_tracking_uri(first), first, "xl")
    run_id = tracker._trial_run("t1")
    assert reroot_artifacts(first) == []  # in place: nothing to change
    copy = tmp_path / "copy"
    shutil.copytree(first, copy)
    sample = Path("mlartifacts", run_id, "artifacts", "samples", "round_200.json")
    (copy / sample).write_text(json.dumps([{"lang": "de", "prediction": "the copy's own"}]))

    def sample_of(sweep_dir: Path, into: str) -> list:
        client = SweepTracker(default_tracking_uri(sweep_dir), "xl", sweep_dir).client
        return json.loads(Path(client.download_artifacts(run_id, "samples/round_200.json", str(tmp_path / into))).read_text())

    assert reroot_artifacts(copy) == [default_artifact_root(first)]
    assert sample_of(copy, "dl1")[0]["prediction"] == "the copy's own"
    assert sample_of(first, "dl2") == [SAMPLE]  # the original is untouched
    experiment = SweepTracker(default_tracking_uri(copy), "xl", copy)
    assert experiment.client.get_experiment(experiment.experiment_id).artifact_location == default_artifact_root(copy)

    moved = tmp_path / "moved"
    shutil.move(copy, moved)
    assert reroot_artifacts(moved) == [default_artifact_root(copy)]
    assert sample_of(moved, "dl3")[0]["prediction"] == "the copy's own"


@pytest.mark.parametrize("name", [
    "hub_token", "HF_TOKEN", "token", "authToken", "auth_header", "Authorization", "API_KEY",
    "apikey", "WANDB_API_KEY", "MLFLOW_TRACKING_PASSWORD", "AWS_SECRET_ACCESS_KEY",
    "GOOGLE_APPLICATION_CREDENTIALS"])
def test_secret_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", [
    "prompt_tuning.num_virtual_tokens", "max_new_tokens", "pad_token_id", "tokenizer", "author",
    "lr", "RAY_AUTH_TOKEN_PATH"])
def test_tokenizer_settings_are_not_secrets(name):
    assert not is_secret_name(name)


def test_secrets_never_reach_mlflow(store, monkeypatch):
    uri, sweep_dir = store
    monkeypatch.setenv("HF_TOKEN", "secretvalue123")
    monkeypatch.setenv("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")  # a flag, not a secret
    params = {"hub_token": "x", "note": "secretvalue123", "lr": 0.1,
              "url": "https://user:secretvalue123@hub.example", "API_KEY": "abc", "rounds": 1}
    assert scrub(params) == {"lr": 0.1, "rounds": 1}

    tracker = SweepTracker(uri, "xl-scrub", sweep_dir)
    tracker.start_sweep("demo", {**SPEC, "model": "secretvalue123"}, None)
    run_id = tracker.start_trial("t0", params)
    tracker.end_trial("t0", "FINISHED", tags={"auth_header": "Bearer y", "msg": "secretvalue123"})
    tracker.end_sweep("FINISHED", best={"config": params})

    assert tracker.client.get_run(run_id).data.params == {"lr": "0.1", "rounds": "1"}
    runs = tracker.client.search_runs([tracker.experiment_id])
    assert len(runs) == 2
    for run in runs:
        logged = {**run.data.params, **run.data.tags}
        assert not any("secretvalue123" in f"{k}={v}" for k, v in logged.items()), logged
        assert not any(k.endswith(("hub_token", "API_KEY", "auth_header")) for k in logged)
    spec_text = Path(tracker.client.download_artifacts(tracker.sweep_run_id, "spec.yaml",
                                                       str(sweep_dir / "dl-scrub"))).read_text()
    assert "secretvalue123" not in spec_text and "model: REDACTED" in spec_text


def test_ui_command_serves_the_sweep_artifacts(tmp_path):
    uri = default_tracking_uri(tmp_path)
    argv, env = ui_command(uri, port=5123)
    assert argv[1:4] == ["-m", "mlflow", "ui"]
    flags = dict(zip(argv[4::2], argv[5::2]))
    assert flags == {"--backend-store-uri": uri, "--host": "127.0.0.1", "--port": "5123",
                     "--workers": "1",
                     "--default-artifact-root": default_artifact_root(tmp_path),
                     "--artifacts-destination": default_artifact_root(tmp_path)}
    assert env == {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return resp.read()


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


@pytest.mark.slow
def test_a_real_server_shows_the_sweep(demo, store):
    uri, _ = store
    with serve(uri) as url:
        found = _post(f"{url}/api/2.0/mlflow/runs/search",
                      {"experiment_ids": [demo.experiment_id], "max_results": 100})["runs"]
        tags = {r["info"]["run_id"]: {t["key"]: t["value"] for t in r["data"].get("tags", [])}
                for r in found}
        parents = [rid for rid, t in tags.items() if t.get("xlsearch.role") == "sweep"]
        children = {t["xlsearch.trial_id"]: rid for rid, t in tags.items()
                    if t.get("mlflow.parentRunId") == demo.sweep_run_id}
        assert parents == [demo.sweep_run_id]
        assert len(found) == 4 and set(children) == set(CONFIGS)
        for trial, run_id in children.items():
            query = urllib.parse.urlencode({"run_id": run_id, "metric_key": "target/de/f1"})
            history = json.loads(_get(f"{url}/api/2.0/mlflow/metrics/get-history?{query}"))
            assert sorted((m["step"], m["value"]) for m in history["metrics"]) == [
                (s, f1(trial, s)) for s in STEPS]
        # The UI's artifact route reads the experiment's own artifact location.
        query = urllib.parse.urlencode({"run_uuid": children["t1"], "path": "samples/round_200.json"})
        assert json.loads(_get(f"{url}/get-artifact?{query}").decode("utf-8")) == [SAMPLE]


@pytest.mark.slow
def test_a_server_that_dies_says_why(tmp_path):
    with pytest.raises(RuntimeError, match="(?s)mlflow server exited with code.*bogus"):
        with serve("bogus://nowhere", timeout_s=60):
            pass
