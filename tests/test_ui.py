"""`xlsearch ui` as a user meets it: a real MLflow server started by the command line, signals
that stop it, a sweep folder that was moved, and the UI itself in a real browser (Debian's
Chromium driven by Playwright's Python package; no browser is downloaded).

The browser test writes the screenshots of the docs' MLflow page (docs/images/mlflow/,
:data:`DOCS_IMAGES`), so a change of MLflow's UI shows in the docs; an image is replaced only
when the page it shows has changed (:func:`save_screenshot`). ``XLSEARCH_SCREENSHOTS=DIR``
writes every screenshot to DIR instead.
Without Chromium the test is skipped with the reason; with ``XLSEARCH_REQUIRE_BROWSER=1`` (which
``.ci/run`` exports) or ``CI=true`` it fails instead.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml

from mlflow_server import _free_port
from test_sweep import ray_env, run_cli, sweep_spec  # noqa: F401  (ray_env is a fixture)
from xlsearch.tracking import SweepTracker, default_artifact_root, default_tracking_uri

REPO = Path(__file__).resolve().parents[1]
XLSEARCH = [sys.executable, "-m", "xlsearch"]
CHROMIUM = Path("/usr/bin/chromium")
DOCS_SCREENSHOTS = REPO / "docs" / "images" / "mlflow"
# The screenshots docs/mlflow.md shows; the test's others go to a temporary folder. To show one
# more in the docs, name it here and in docs/mlflow.md.
DOCS_IMAGES = {"runs_table.png", "score_vs_wrong_language.png"}
# A screenshot replaces the committed one when more than this share of its pixels changed (a run's
# own figures, times and chart points change a few; a redesigned page changes many), or its size.
CHANGED_PIXELS = 0.02
# What works on a small headless machine; Playwright adds --headless itself.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SAMPLE = [{"lang": "de", "output": "Das ist ein Haus.", "verdict": "right"}]


def small_sweep(sweep_dir: Path) -> tuple[str, str]:
    """A sweep's store made by the tracker (no Ray): a parent, one trial with a samples artifact.
    Returns the experiment and trial run ids."""
    tracker = SweepTracker(default_tracking_uri(sweep_dir), "ui-sweep", sweep_dir)
    tracker.start_sweep("ui-sweep", {"task": "xlsum", "model": "tiny-mt5", "search": {"algorithm": "grid"}})
    run_id = tracker.start_trial("t0", {"lr": 1e-3, "method": "full", "intermediate_tuning": "none"})
    tracker.log_round("t0", {"source_dev/rougeL": 10.0}, step=1)
    tracker.log_samples("t0", SAMPLE, step=1)
    tracker.end_trial("t0")
    tracker.end_sweep()
    return tracker.experiment_id, run_id


def ui_env() -> dict[str, str]:
    """The user's environment without a desktop: `xlsearch ui` prints its address only."""
    return {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER")}


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:
            return resp.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@contextmanager
def xlsearch_ui(sweep_dir: Path, log: Path, timeout_s: float = 120):
    """`xlsearch ui SWEEP --port P` in a session of its own, until its server answers and it has
    printed its addresses; yields ``(process, base_url)``. Afterwards everything it started is
    gone, whatever the test did."""
    port = _free_port("127.0.0.1")
    base = f"http://127.0.0.1:{port}"
    with open(log, "w") as out:
        proc = subprocess.Popen([*XLSEARCH, "ui", str(sweep_dir), "--port", str(port)], env=ui_env(), cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + timeout_s
        # Ready when the server answers and `xlsearch ui` has said so (its own check may come later).
        while not (answers(f"{base}/health") and "server pid " in log.read_text()):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.25)
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                pass
        for line in log.read_text().splitlines():  # a server left behind by a failing `xlsearch ui`
            if "server pid " in line:
                _kill_group(int(line.split("server pid ")[1].split(";")[0]))
        _kill_group(proc.pid)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def printed(log: Path, prefix: str) -> str:
    lines = [line for line in log.read_text().splitlines() if line.startswith(prefix)]
    assert lines, f"`xlsearch ui` printed no line starting {prefix!r}:\n{log.read_text()[-3000:]}"
    return lines[0][len(prefix):].strip()


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_ui_stops_its_server_on_a_signal(tmp_path, sig):
    small_sweep(tmp_path / "sweep")
    with xlsearch_ui(tmp_path / "sweep", tmp_path / "ui.log") as (proc, base):
        os.kill(proc.pid, sig)  # to `xlsearch ui` alone, as `kill` or a service manager sends it
        proc.wait(30)
        deadline = time.monotonic() + 15
        while answers(f"{base}/health") and time.monotonic() < deadline:
            time.sleep(0.25)
        assert not answers(f"{base}/health"), "the MLflow server outlived `xlsearch ui`"
        port = int(base.rsplit(":", 1)[1])
        from xlsearch.tracking.ui import port_is_free

        assert port_is_free("127.0.0.1", port), f"port {port} is still taken"
        server = int(printed(tmp_path / "ui.log", "MLflow UI for").split("server pid ")[1].split(";")[0])
        with pytest.raises(ProcessLookupError):
            os.killpg(server, 0)  # none of the server's processes is left
        assert proc.returncode == 0  # a stop the user asked for


@pytest.mark.slow
def test_a_moved_sweep_shows_its_own_artifacts(tmp_path):
    experiment_id, run_id = small_sweep(tmp_path / "first")
    shutil.move(tmp_path / "first", tmp_path / "moved")  # off a cluster's disk, onto a laptop: the original is gone
    with xlsearch_ui(tmp_path / "moved", tmp_path / "ui.log") as (_, base):
        query = urllib.parse.urlencode({"run_uuid": run_id, "path": "samples/round_1.json"})
        with urllib.request.urlopen(f"{base}/get-artifact?{query}", timeout=30) as resp:
            assert json.loads(resp.read()) == SAMPLE
        with urllib.request.urlopen(f"{base}/ajax-api/2.0/mlflow/experiments/get?experiment_id={experiment_id}",
                                    timeout=30) as resp:
            location = json.loads(resp.read())["experiment"]["artifact_location"]
        assert location == default_artifact_root(tmp_path / "moved")
    assert "the sweep was moved or copied" in (tmp_path / "ui.log").read_text()


# ---------------------------------------------------------------------------------------------
# The UI in a real browser


def browser_required() -> bool:
    """Whether a missing browser fails the test: in CI (.ci/run sets XLSEARCH_REQUIRE_BROWSER=1;
    CI=true as hosted CI sets it), not on a user's machine."""
    return os.environ.get("XLSEARCH_REQUIRE_BROWSER", "") not in ("", "0") or bool(os.environ.get("CI"))


def browser_or_skip():
    """Playwright's sync API, or a skip with the reason; where the browser is required, a failure."""
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "the playwright package is not installed (pip install -e '.[test]')"
    if reason is None and not CHROMIUM.is_file():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if reason is not None:
        if browser_required():
            pytest.fail(f"the browser test must run here (XLSEARCH_REQUIRE_BROWSER or CI is set): {reason}")
        pytest.skip(reason)
    return sync_playwright


@pytest.fixture(scope="module")
def finished_demo_sweep(tmp_path_factory, ray_env):  # noqa: F811
    """The smallest sweep that still shows the study's shape: three LRs of one method, one round
    of 15 steps, run with `xlsearch run`, then moved to another folder (the original is gone).
    Without a browser the test that uses it skips (or fails) before the sweep is made."""
    browser_or_skip()
    folder = tmp_path_factory.mktemp("ui-demo")
    raw = sweep_spec(folder / "results", name="ui-demo", scheduler="none", budget={"max_trials": 3},
                     subsample={"train": 128, "dev": 8, "unlabeled": 8})
    raw["search"].update({"algorithm": "grid", "lr": [1.0e-4, 1.0e-3, 1.0e-2], "methods": {"full": {}},
                          "intermediate_tuning": ["none"]})
    # 15 steps: enough for 1e-2 to move the random model's scores away from the others'.
    raw["training"].update({"steps_per_round": 15, "rounds": 1, "sample_generations": 2})
    (folder / "spec.yaml").write_text(yaml.safe_dump(raw))
    # Three 1-CPU trials at once on the 2-CPU machine: one wave instead of two (CI time).
    out = run_cli(["run", str(folder / "spec.yaml"), "--num-cpus", "3"], ray_env)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    shutil.move(folder / "results", folder / "moved")
    return folder / "moved" / "ui-demo"


@pytest.mark.slow
def test_the_ui_tells_the_study_without_a_click(finished_demo_sweep, tmp_path_factory):
    sync_playwright = browser_or_skip()
    sweep_dir = finished_demo_sweep
    chosen = os.environ.get("XLSEARCH_SCREENSHOTS")
    others = Path(chosen) if chosen else tmp_path_factory.mktemp("screenshots")
    others.mkdir(parents=True, exist_ok=True)

    def shot(name: str) -> Path:
        return DOCS_SCREENSHOTS / name if name in DOCS_IMAGES and not chosen else others / name

    client = SweepTracker(default_tracking_uri(sweep_dir), "ui-demo", sweep_dir).client
    experiment = client.get_experiment_by_name("ui-demo")
    runs = client.search_runs([experiment.experiment_id])
    parent = next(r for r in runs if r.data.tags.get("xlsearch.role") == "sweep")
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(children) == 3
    score = {r.info.run_name: r.data.metrics["source_dev/rougeL"] for r in children}
    log = tmp_path_factory.mktemp("ui-log") / "ui.log"
    with xlsearch_ui(sweep_dir, log) as (_, base), sync_playwright() as p:
        runs_url = printed(log, "runs of ui-demo:")
        charts_url = printed(log, "charts of ui-demo:")
        assert runs_url.startswith(f"{base}/#/experiments/{experiment.experiment_id}/runs?")
        browser = p.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=str(CHROMIUM), headless=True,
            args=CHROMIUM_ARGS, viewport={"width": 1600, "height": 900})
        page = browser.new_page()

        # The runs: the model-training view, the parent and its trials, the headline columns,
        # best source score first; nothing clicked.
        page.goto(runs_url)
        table = page.locator(".ag-root")
        for name in [parent.info.run_name, *score]:
            table.get_by_text(name, exact=True).first.wait_for(timeout=60_000)
        text = table.inner_text()
        for column in ("method", "intermediate_tuning", "lr", "source_dev/rougeL",
                       "target_mean/wrong_language_rate", "target_mean/rougeL"):
            assert column in text.split("\n"), f"no column {column!r} in the runs table:\n{text[:2000]}"
        rows = page.evaluate("() => Array.from(document.querySelectorAll('.ag-row[row-index]'))"
                             ".map(r => [Number(r.getAttribute('row-index')), r.innerText])")
        shown = [name for _, row in sorted(rows) for name in score if name in row.split("\n")]
        assert sorted(shown) == sorted(score) and [score[n] for n in shown] == sorted(score.values(), reverse=True), \
            f"trials not sorted by source score, best first: {[(n, score[n]) for n in shown]}"
        # The model-training view: the experiment's side navigation is the model-training one (Runs,
        # Models, Traces), not the GenAI one, which has sections (Observability, Evaluation, ...).
        nav = {label: page.get_by_text(label, exact=True).count()
               for label in ("Runs", "Traces", "Observability", "Evaluation")}
        assert nav["Runs"] >= 1 and nav["Traces"] >= 1 and nav["Observability"] == nav["Evaluation"] == 0, \
            f"not the model-training view's navigation: {nav}"
        _close_assistant(page)
        save_screenshot(page.screenshot(), shot("runs_table.png"))

        # The charts: the study's section first, source score against wrong-language rate.
        page.goto(charts_url)
        page.get_by_text("the study", exact=True).wait_for(timeout=60_000)
        card = page.locator("[data-testid='experiment-view-compare-runs-card']").first
        card.wait_for(timeout=60_000)
        _wait_for_plots(page, 2)
        card_text = card.inner_text()
        assert "target_mean/wrong_language_rate" in card_text and "source_dev/rougeL" in card_text
        _close_assistant(page)
        save_screenshot(page.screenshot(), shot("charts.png"))
        save_screenshot(card.screenshot(), shot("score_vs_wrong_language.png"))

        # A trial's page: a chart per target language, and the artifacts of the moved folder.
        child = max(children, key=lambda r: r.data.metrics["source_dev/rougeL"])
        trial_page = f"{base}/#/experiments/{experiment.experiment_id}/runs/{child.info.run_id}"
        page.goto(f"{trial_page}/model-metrics?workflowType=machine_learning")
        for lang in ("de", "es", "fr"):
            page.get_by_text(f"target/{lang}", exact=False).first.wait_for(timeout=60_000)
        page.get_by_text("target/de", exact=False).first.scroll_into_view_if_needed()
        _wait_for_plots(page, 3)
        save_screenshot(page.screenshot(), shot("trial_metrics.png"))
        page.goto(f"{trial_page}/artifacts?workflowType=machine_learning")
        page.get_by_text("samples", exact=True).first.wait_for(timeout=60_000)
        assert page.get_by_text("samples", exact=True).first.is_visible(), "the samples folder is not shown"
        assert page.get_by_text("No Artifacts Recorded").count() == 0
        save_screenshot(page.screenshot(), shot("trial_artifacts.png"))
        browser.close()
    print(f"screenshots: {', '.join(sorted(DOCS_IMAGES))} in {DOCS_SCREENSHOTS if not chosen else others}; "
          f"the others in {others}")


def _wait_for_plots(page, n: int, timeout_s: float = 60) -> None:
    """Until ``n`` charts are drawn (plotly's svg), not their loading spinners; fails if they are
    not drawn within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while page.locator("svg.main-svg").count() < n and time.monotonic() < deadline:
        time.sleep(0.5)
    drawn = page.locator("svg.main-svg").count()
    assert drawn >= n, f"{drawn} of {n} charts drawn after {timeout_s:g} s (still loading, or none to draw)"
    time.sleep(1)  # the last chart's animation, before a screenshot


def save_screenshot(png: bytes, path: Path) -> bool:
    """Write ``png`` to ``path`` unless the image there shows the same page: the same size and at
    most :data:`CHANGED_PIXELS` of its pixels changed. Returns whether it was written."""
    import io

    from PIL import Image, ImageChops

    if path.is_file():
        new, old = Image.open(io.BytesIO(png)).convert("RGB"), Image.open(path).convert("RGB")
        if new.size == old.size:
            diff = ImageChops.difference(new, old).convert("L").point(lambda v: 255 if v > 16 else 0)
            changed = diff.histogram()[255] / (new.size[0] * new.size[1])
            if changed <= CHANGED_PIXELS:
                return False
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(png)
    os.replace(tmp, path)
    return True


def test_a_missing_browser_is_a_skip_for_a_user_and_a_failure_in_ci(monkeypatch, tmp_path):
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    for name in ("XLSEARCH_REQUIRE_BROWSER", "CI"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(pytest.skip.Exception, match="no Chromium at .*apt-get install chromium"):
        browser_or_skip()
    monkeypatch.setenv("XLSEARCH_REQUIRE_BROWSER", "1")  # as .ci/run exports it
    with pytest.raises(pytest.fail.Exception, match="the browser test must run here"):
        browser_or_skip()


def test_a_screenshot_replaces_the_docs_image_only_when_the_page_changed(tmp_path):
    import io

    from PIL import Image, ImageDraw

    def png(boxes: int) -> bytes:
        image = Image.new("RGB", (400, 300), "white")
        for i in range(boxes):
            ImageDraw.Draw(image).rectangle([10 + 30 * i, 10, 30 + 30 * i, 290], fill="black")
        out = io.BytesIO()
        image.save(out, "PNG")
        return out.getvalue()

    path = tmp_path / "runs_table.png"
    assert save_screenshot(png(1), path) and path.read_bytes() == png(1)
    nudged = Image.open(io.BytesIO(png(1)))
    ImageDraw.Draw(nudged).rectangle([200, 100, 210, 110], fill="black")  # a figure that differs in a run
    out = io.BytesIO()
    nudged.save(out, "PNG")
    assert not save_screenshot(out.getvalue(), path) and path.read_bytes() == png(1)
    assert save_screenshot(png(5), path) and path.read_bytes() == png(5)  # a page that changed


def _close_assistant(page) -> None:
    """MLflow 3.17 opens its Assistant panel on a first visit; close it for the screenshots only."""
    close = page.locator("[aria-label='Close']").first
    if close.count() and close.is_visible():
        close.click()
        time.sleep(0.5)
