"""No test may reach a model or dataset hub: fail fast instead of retrying for a minute."""
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Tiny models gain nothing from a second thread, and two processes each spinning two OpenMP
# threads on a 2-core machine slowed a 30-step run from 0.4 s to 40 s.
import torch  # noqa: E402

torch.set_num_threads(1)
