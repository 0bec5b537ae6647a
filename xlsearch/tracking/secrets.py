"""Secrets never reach MLflow or Ray: which names are secrets, and params and texts without them.

Functions of their arguments and ``os.environ``; no MLflow here.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from typing import Any, Iterator

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


# Ray Tune copies these from the driver's environment into every trial's runtime environment
# (ray/tune/execution/class_cache.py, Ray 2.60), and Ray's runtime-env agent writes runtime
# environments to its log (/tmp/ray/session_*/logs/runtime_env_agent.log) in plain text.
TUNE_COPIED_SECRETS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN")
_CREDENTIALS_FILE_KEYS = {"AWS_ACCESS_KEY_ID": "aws_access_key_id", "AWS_SECRET_ACCESS_KEY": "aws_secret_access_key",
                          "AWS_SESSION_TOKEN": "aws_session_token", "AWS_SECURITY_TOKEN": "aws_security_token"}


@contextmanager
def aws_credentials_in_a_private_file() -> Iterator[None]:
    """While the block runs, AWS credentials are not in this process's environment, so Ray
    cannot copy them anywhere; the AWS SDKs (boto3 for MLflow's S3 artifacts, Arrow's S3
    filesystem) find them in a credentials file readable by this user only, named by
    ``AWS_SHARED_CREDENTIALS_FILE`` under the profile in use. The file is deleted and the
    environment restored afterwards. Processes started before (a local Ray's workers) keep
    their environment."""
    found = {k: os.environ[k] for k in TUNE_COPIED_SECRETS if k in os.environ}
    if not found:
        yield
        return
    folder = tempfile.mkdtemp(prefix="xlsearch-aws-")  # 0700
    path = os.path.join(folder, "credentials")
    profile = os.environ.get("AWS_PROFILE", "default")
    lines = [f"[{profile}]"] + [f"{_CREDENTIALS_FILE_KEYS[k]} = {v}" for k, v in found.items()]
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write("\n".join(lines) + "\n")
    saved_file = os.environ.get("AWS_SHARED_CREDENTIALS_FILE")
    for key in found:
        del os.environ[key]
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = path
    try:
        yield
    finally:
        os.environ.update(found)
        if saved_file is None:
            os.environ.pop("AWS_SHARED_CREDENTIALS_FILE", None)
        else:
            os.environ["AWS_SHARED_CREDENTIALS_FILE"] = saved_file
        shutil.rmtree(folder, ignore_errors=True)


def redact_values(value: Any) -> Any:
    """``value`` (nested dicts, lists, strings) with secret environment values replaced by
    ``REDACTED``: what xlsearch hands to Ray (the spec each trial gets) and writes to the sweep
    folder."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(redact_values(v) for v in value)
    return value
