"""Secrets never reach MLflow or Ray: which names are secrets, and params and texts without them.

Functions of their arguments and ``os.environ``; no MLflow here.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from contextlib import contextmanager
from typing import Any, Callable, Iterator

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
# The hub token, which trials need to load a gated model or dataset: the hub client reads it from
# the file HF_TOKEN_PATH names when the variable is not set.
HUB_TOKENS = ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")


def secrets_in_environment() -> dict[str, str]:
    """The secret variables of this process's environment: every name :func:`is_secret_name`
    calls a secret whose value is a credential (not a flag), and the AWS keys Tune copies."""
    return {k: v for k, v in os.environ.items()
            if k in TUNE_COPIED_SECRETS or (is_secret_name(k) and len(v) >= _MIN_SECRET_LENGTH)}


def _private_file(folder: str, name: str, text: str) -> str:
    path = os.path.join(folder, name)
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
        f.write(text)
    return path


@contextmanager
def _environment(remove: list[str], add: dict[str, str]) -> Iterator[None]:
    """The block runs with ``remove`` out of ``os.environ`` and ``add`` in; both put back after."""
    saved = {k: os.environ.get(k) for k in [*remove, *add]}
    for key in remove:
        os.environ.pop(key, None)
    os.environ.update(add)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@contextmanager
def secrets_kept_from_ray(starting_ray: Callable[[], Any]) -> Iterator[None]:
    """The one guard between the environment's secrets and Ray: ``starting_ray`` (what starts or
    joins Ray) runs with **no** secret in the environment, so no process Ray starts inherits one,
    and the block after it (every piece of work the command hands to Ray: the budget's
    calibration, intermediate tuning, translations, trials, soups) runs without the AWS keys,
    which Tune copies into every trial's runtime environment and Ray writes to its logs.

    What trials need still reaches them, through files readable by this user only that Ray
    neither copies nor logs: the AWS keys through a credentials file (``AWS_SHARED_CREDENTIALS_FILE``,
    under the profile in use; boto3 for MLflow's S3 artifacts and Arrow's S3 filesystem read it),
    the hub token through a token file (``HF_TOKEN_PATH``). Processes of a local Ray inherit those
    paths. The driver itself has every other secret back once Ray is up (MLflow's password, which
    it alone uses). Everything is put back and the files deleted at the end."""
    found = secrets_in_environment()
    aws = {k: v for k, v in found.items() if k in TUNE_COPIED_SECRETS}
    token = next((found[k] for k in HUB_TOKENS if k in found), None)
    folder = tempfile.mkdtemp(prefix="xlsearch-secrets-") if aws or token else None  # 0700
    channels: dict[str, str] = {}
    try:
        if aws:
            profile = os.environ.get("AWS_PROFILE", "default")
            lines = [f"[{profile}]"] + [f"{_CREDENTIALS_FILE_KEYS[k]} = {v}" for k, v in aws.items()]
            channels["AWS_SHARED_CREDENTIALS_FILE"] = _private_file(folder, "credentials", "\n".join(lines) + "\n")
        if token:
            channels["HF_TOKEN_PATH"] = _private_file(folder, "hub_token", token)
        with _environment(list(aws), channels):
            with _environment([k for k in found if k not in aws], {}):
                starting_ray()
            yield
    finally:
        if folder:
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
