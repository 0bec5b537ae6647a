"""No test may reach a model or dataset hub: fail fast instead of retrying for a minute."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Tiny models gain nothing from a second thread, and two processes each spinning two OpenMP
# threads on a 2-core machine slowed a 30-step run from 0.4 s to 40 s.
import torch  # noqa: E402

torch.set_num_threads(1)


def pytest_sessionstart(session):
    """One clear line, before any test runs, when the real test data is not where tests read it."""
    import pytest

    from shared_data import ENV_VAR, SHARED_DATA

    if not (SHARED_DATA / "xquad").is_dir():
        raise pytest.UsageError(f"the real test data is not at {SHARED_DATA}: the tests read the project's "
                                f"shared/data beside the checkout; clone next to it or set {ENV_VAR}")
