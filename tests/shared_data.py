"""Where the real test data lives (XQuAD, the SQuAD sample, XL-Sum samples): the project's
``shared/data`` folder beside the checkout, or ``$XLSEARCH_SHARED_DATA``. It is read in place,
never copied into the repository."""
import os
from pathlib import Path

ENV_VAR = "XLSEARCH_SHARED_DATA"
SHARED_DATA = Path(os.environ.get(ENV_VAR) or Path(__file__).resolve().parents[2] / "shared" / "data")
