"""Where the tests' real data lives.

- ``TEST_DATA`` (``tests/data/``): small XQuAD and SQuAD slices shipped in the repository
  (CC BY-SA 4.0; see each folder's SOURCE.md). Tests that need real QA data read these.
- ``SHARED_DATA``: the project's ``shared/data`` folder beside the checkout, or
  ``$XLSEARCH_SHARED_DATA``, read in place and never copied here. It holds the XL-Sum samples
  (CC BY-NC-SA 4.0, which may not go into this repository) and the full XQuAD/SQuAD files. Tests
  that read it are optional: ``shared(...)`` skips them, with the reason, when it is missing.
"""
import os
from pathlib import Path

import pytest

ENV_VAR = "XLSEARCH_SHARED_DATA"
TEST_DATA = Path(__file__).resolve().parent / "data"
SHARED_DATA = Path(os.environ.get(ENV_VAR) or Path(__file__).resolve().parents[2] / "shared" / "data")
XLSUM_NOT_SHIPPED = ("XL-Sum is CC BY-NC-SA 4.0 and the XSum sample's BBC texts carry no clear license, "
                     "so neither is shipped")


def shared(subfolder: str, why: str) -> Path:
    """``SHARED_DATA / subfolder``; when it is missing, skip the calling test saying where it looked and why."""
    __tracebackhide__ = True  # the skip is reported at the calling test's line, not here
    folder = SHARED_DATA / subfolder
    if not folder.is_dir():
        pytest.skip(f"optional: {folder} not found ({why}); put shared/data beside the checkout or set {ENV_VAR}")
    return folder
