"""No test may reach a model or dataset hub: fail fast instead of retrying for a minute."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Tiny models gain nothing from a second thread, and two processes each spinning two OpenMP
# threads on a 2-core machine slowed a 30-step run from 0.4 s to 40 s.
import torch  # noqa: E402

torch.set_num_threads(1)


def pytest_report_header(config):
    from shared_data import ENV_VAR, SHARED_DATA

    found = "found" if SHARED_DATA.is_dir() else f"not found (optional tests skip; set {ENV_VAR})"
    return f"shared data: {SHARED_DATA} {found}"


def pytest_terminal_summary(terminalreporter):
    """One line when tests were skipped for want of the shared data: -q hides the header and the reasons."""
    from shared_data import SHARED_DATA

    skipped = [r for r in terminalreporter.stats.get("skipped", [])
               if isinstance(r.longrepr, tuple) and str(SHARED_DATA) in r.longrepr[2]]
    if skipped:
        terminalreporter.write_line(f"shared data not found at {SHARED_DATA}: {len(skipped)} optional tests skipped "
                                    "(XL-Sum is CC BY-NC-SA and not shipped, nor are the full XQuAD/SQuAD files; "
                                    "-rs lists them)")


# Seconds each file's tests took with two test processes on the 2-CPU development machine
# (2026-11-26; the zero-shot, secrets and offline files 2026-12-07), a hint for the order below;
# a file not listed counts 60 s per slow test.
FILE_SECONDS = {"test_cluster.py": 600, "test_sweep.py": 480, "test_interrupts.py": 450,
                "test_zero_shot_sweep.py": 450, "test_secrets.py": 330, "test_shared_machine.py": 315,
                "test_ui.py": 250, "test_workers.py": 180, "test_seeds.py": 150, "test_translate.py": 130,
                "test_ray_errors.py": 110, "test_offline_hub.py": 90}


def pytest_collection_modifyitems(session, config, items):
    """The longest files first: the suite runs two files at a time (pytest-xdist, loadfile), and
    the quick files then fill in at the end instead of one long file running alone at the end
    while the other process idles."""
    slow: dict[str, int] = {}
    for item in items:
        path = item.nodeid.split("::")[0]
        slow[path] = slow.get(path, 0) + bool(item.get_closest_marker("slow"))

    def seconds(item) -> int:
        path = item.nodeid.split("::")[0]
        return FILE_SECONDS.get(path.rsplit("/", 1)[-1], 60 * slow[path])

    items.sort(key=lambda item: -seconds(item))  # stable: each file keeps its own order
