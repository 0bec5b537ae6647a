"""Secrets never reach MLflow: which names are secrets, and params and texts without them.

Pure functions of their arguments and ``os.environ``; no MLflow here.
"""
from __future__ import annotations

import os
import re
from typing import Any

# Names of secrets: a param/tag key or an environment variable name. "secret", "password",
# "credential" and "api_key" may sit anywhere in the name; "token" and "auth" only as whole words,
# and not as "<..>_token_id" or "<..>_token_path": otherwise tokenizer settings
# (prompt_tuning.num_virtual_tokens, pad_token_id, max_new_tokens) and "author" would vanish.
_SECRET_ANYWHERE = re.compile(r"secret|passw(or)?d|credential|api_?key", re.IGNORECASE)
_SECRET_WORDS = {"token", "auth", "authorization", "apikey"}
_NOT_SECRET_TAILS = {"id", "ids", "path", "file", "type", "mode"}
# Environment values shorter than this are flags ("1", "true", RAY_AUTH_MODE=token), not
# credentials; treating them as secrets would drop every param that happens to equal "1".
_MIN_SECRET_LENGTH = 8


def is_secret_name(name: str) -> bool:
    """Whether a param key or environment variable name names a secret (``hub_token``,
    ``HF_TOKEN``, ``WANDB_API_KEY``, ``MLFLOW_TRACKING_PASSWORD``, ``authToken``), as opposed to a
    tokenizer setting (``num_virtual_tokens``, ``pad_token_id``)."""
    if _SECRET_ANYWHERE.search(name):
        return True
    words = re.split(r"[^a-z0-9]+", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower())
    return bool(_SECRET_WORDS & set(words)) and words[-1] not in _NOT_SECRET_TAILS


def _secret_env_values() -> list[str]:
    return [v for k, v in os.environ.items() if is_secret_name(k) and len(v) >= _MIN_SECRET_LENGTH]


def scrub(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` without secrets: drops keys that name a secret (see :func:`is_secret_name`)
    and values that contain the value of a secret environment variable (HF_TOKEN, WANDB_API_KEY,
    MLFLOW_TRACKING_PASSWORD, ...), so a token passed inside a config value is dropped too."""
    secrets = _secret_env_values()
    return {k: v for k, v in params.items()
            if not is_secret_name(str(k)) and not any(s in str(v) for s in secrets)}


def redact(text: str) -> str:
    """``text`` with the values of secret environment variables replaced by ``REDACTED`` (still valid YAML)."""
    for secret in _secret_env_values():
        text = text.replace(secret, "REDACTED")
    return text
