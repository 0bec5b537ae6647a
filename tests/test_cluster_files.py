"""The cluster files, checked without a cluster or the network.

- ``cluster.yaml`` (AWS) and ``cluster-onprem.yaml`` (Ray's ``local`` provider) pass the schema
  inside the installed ray package, and are closed by default as far as a file can make them:
  the dashboard on the head's 127.0.0.1, token authentication on every ``ray start`` with the
  token file synced to every node, no published ports or Ray Client port, and (AWS) no rule or
  security group beside the launcher's default one (SSH from outside, everything between nodes).
- ``deploy/rayjob.yaml`` passes the v1 schema of KubeRay's RayJob CRD (tests/data/kuberay, with
  unknown fields refused as kubectl's strict field validation does) and has the shape a sweep
  needs: GPU workers, the shared volume on every pod, an entrypoint that resumes on a retry.
- Cloud storage (``s3://``, ``gs://``) is refused by ``xlsearch validate`` and ``xlsearch run``
  in one line before anything starts, and a SQLite store off the shared storage is named on a
  cluster.
"""
from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml

from xlsearch.cli import main

ROOT = Path(__file__).resolve().parents[1]
LAUNCHER_FILES = ["cluster.yaml", "cluster-onprem.yaml"]
RAY_SCHEMA = Path(ray.__file__).parent / "autoscaler" / "ray-schema.json"
RAYJOB_SCHEMA = Path(__file__).parent / "data" / "kuberay" / "rayjob-v1-schema.json"
TOKEN_PATH = "~/.ray/auth_token"  # where `ray get-auth-token --generate` writes it, and Ray reads it


def _load(name: str) -> dict:
    return yaml.safe_load((ROOT / name).read_text())


def _ray_pin() -> str:
    pin = re.search(r'"ray\[[^\]]*\]==([0-9.]+)"', (ROOT / "pyproject.toml").read_text())
    assert pin, "pyproject.toml pins no ray version"
    return pin.group(1)


# --- the launcher files ---------------------------------------------------------------------

def _misspelt(document: dict, path: tuple, misspelt: str) -> dict:
    """``document`` with the key at ``path`` (keys and list indexes) renamed to ``misspelt``."""
    node = document
    for part in path[:-1]:
        node = node[part]
    node[misspelt] = node.pop(path[-1])
    return document


def _ray_schema_errors(config: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(json.loads(RAY_SCHEMA.read_text()))
    return [f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(config)]


@pytest.mark.parametrize("name", LAUNCHER_FILES)
def test_launcher_files_pass_the_schema_in_the_ray_package(name):
    assert _ray_schema_errors(_load(name)) == []


@pytest.mark.parametrize("key, misspelt", [(("file_mounts",), "file_mount"),
                                           (("head_start_ray_commands",), "head_start_ray_command"),
                                           (("docker", "run_options"), "run_option"),
                                           (("available_node_types", "head", "node_config"), "node_cofig")])
def test_the_ray_schema_refuses_a_misspelt_key(key, misspelt):
    config = _misspelt(_load("cluster.yaml"), key, misspelt)
    assert any(misspelt in error or key[-1] in error for error in _ray_schema_errors(config))


def _start_commands(config: dict, which: str) -> list[str]:
    return [c for c in config.get(which, []) if "ray start" in c]


def closed_by_default_problems(config: dict) -> list[str]:
    """What in a launcher config opens the cluster beyond SSH, or lets a node start without the
    token: one line each, none for a closed config."""
    problems = []
    head, workers = _start_commands(config, "head_start_ray_commands"), _start_commands(config, "worker_start_ray_commands")
    if len(head) != 1 or not workers:
        problems.append(f"expected one `ray start --head` and worker start commands, got {head} / {workers}")
    for command in head:
        hosts = re.findall(r"--dashboard-host[= ](\S+)", command)
        if hosts != ["127.0.0.1"]:
            problems.append(f"the dashboard must listen on 127.0.0.1 only, got --dashboard-host {hosts}")
    for command in head + workers:
        before_start = command.split("ray start", 1)[0]
        if not re.search(r"\bexport\b[^;]*\bRAY_AUTH_MODE=token\b", before_start):
            problems.append(f"`ray start` without RAY_AUTH_MODE=token exported first: {command!r}")
        if "--ray-client-server-port" in command:
            problems.append(f"a Ray Client port is opened: {command!r}")
    everything = json.dumps(config)
    if re.search(r"RAY_AUTH_MODE=(?!token)", everything) or "RAY_AUTH_TOKEN=" in everything:
        problems.append("token authentication is turned off, or a token is written into the file")
    if (config.get("file_mounts") or {}).get(TOKEN_PATH) != TOKEN_PATH:
        problems.append(f"the token file is not synced to every node (file_mounts {TOKEN_PATH!r})")
    for option in (config.get("docker") or {}).get("run_options", []):
        words = shlex.split(option)
        if any(w in ("-p", "-P", "--expose", "--network", "--net") or w.startswith(("--publish", "--expose=", "--net="))
               for w in words):
            problems.append(f"docker run option opens or changes the network: {option!r}")
    provider = config.get("provider", {})
    if provider.get("type") == "aws":
        if provider.get("security_group", {}).get("IpPermissions"):
            problems.append("provider.security_group.IpPermissions adds inbound rules to the default group")
        for name, node_type in config.get("available_node_types", {}).items():
            for key in ("SecurityGroupIds", "NetworkInterfaces"):
                if key in node_type.get("node_config", {}):
                    problems.append(f"available_node_types.{name}.node_config.{key} replaces the launcher's group")
    return problems


@pytest.mark.parametrize("name", LAUNCHER_FILES)
def test_launcher_files_are_closed_by_default(name):
    assert closed_by_default_problems(_load(name)) == []


def _dashboard_on_all_interfaces(c):
    c["head_start_ray_commands"][-1] = c["head_start_ray_commands"][-1].replace("127.0.0.1", "0.0.0.0")


def _no_token_on_workers(c):
    c["worker_start_ray_commands"][-1] = c["worker_start_ray_commands"][-1].replace("RAY_AUTH_MODE=token ", "")


def _auth_disabled(c):
    c["setup_commands"].append("export RAY_AUTH_MODE=disabled")


def _no_token_file(c):
    del c["file_mounts"][TOKEN_PATH]


def _published_port(c):
    c["docker"]["run_options"].append("-p 8265:8265")


def _client_port(c):
    c["head_start_ray_commands"][-1] += " --ray-client-server-port=10001"


def _extra_rule(c):
    c["provider"]["security_group"] = {"IpPermissions": [{"FromPort": 8265, "ToPort": 8265, "IpProtocol": "tcp",
                                                          "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}]}


def _own_group(c):
    c["available_node_types"]["head"]["node_config"]["SecurityGroupIds"] = ["sg-0123"]


@pytest.mark.parametrize("opening", [_dashboard_on_all_interfaces, _no_token_on_workers, _auth_disabled,
                                     _no_token_file, _published_port, _client_port, _extra_rule, _own_group],
                         ids=lambda f: f.__name__.strip("_"))
def test_the_closed_by_default_check_catches_each_opening(opening):
    config = _load("cluster.yaml")
    opening(config)
    assert _ray_schema_errors(config) == []  # still a valid file: only the settings check sees it
    assert len(closed_by_default_problems(config)) == 1


def test_every_image_and_version_follows_the_ray_pin():
    """The image tags, the Dockerfile's base and the RayJob's rayVersion name pyproject's Ray."""
    pin = _ray_pin()
    tags = {name: re.findall(r"rayproject/ray:([0-9.]+)-", (ROOT / name).read_text())
            for name in [*LAUNCHER_FILES, "deploy/Dockerfile"]}
    assert all(tags.values()), tags
    assert {tag for found in tags.values() for tag in found} == {pin}
    assert _load("deploy/rayjob.yaml")["spec"]["rayClusterSpec"]["rayVersion"] == pin


# --- the KubeRay RayJob ---------------------------------------------------------------------

def _strict(schema):
    """The CRD's schema with unknown fields refused, as the API server's strict field validation
    (kubectl's default) refuses them; the API server would otherwise drop them silently."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    schema = {k: _strict(v) for k, v in schema.items()}
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        schema["additionalProperties"] = False
    return schema


def _rayjob_errors(manifest: dict) -> list[str]:
    validator = jsonschema.Draft7Validator(_strict(json.loads(RAYJOB_SCHEMA.read_text())))
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(manifest)]


def test_the_rayjob_passes_kuberays_crd_schema():
    assert _rayjob_errors(_load("deploy/rayjob.yaml")) == []


@pytest.mark.parametrize("path, misspelt", [
    (("spec", "shutdownAfterJobFinishes"), "shutdownAfterJobFinished"),
    (("spec", "rayClusterSpec", "headGroupSpec", "rayStartParams"), "rayStartParam"),
    (("spec", "rayClusterSpec", "workerGroupSpecs", 0, "template", "spec", "containers", 0, "resources"), "resource"),
    (("spec", "rayClusterSpec", "authOptions", "mode"), "auth_mode"),
])
def test_the_crd_schema_refuses_a_misspelt_key(path, misspelt):
    manifest = _misspelt(_load("deploy/rayjob.yaml"), path, misspelt)
    assert any(f"'{misspelt}' was unexpected" in error for error in _rayjob_errors(manifest))


def test_the_crd_schema_refuses_a_wrong_type():
    manifest = _load("deploy/rayjob.yaml")
    manifest["spec"]["backoffLimit"] = "2"
    assert any(e.startswith("spec.backoffLimit:") for e in _rayjob_errors(manifest))


def _pod_specs(cluster: dict) -> list[dict]:
    return [cluster["headGroupSpec"]["template"]["spec"]] + [g["template"]["spec"] for g in cluster["workerGroupSpecs"]]


def test_the_rayjob_runs_a_resumable_sweep_on_gpu_workers_and_shared_storage():
    job, claim = _load("deploy/rayjob.yaml"), _load("deploy/shared-storage.yaml")
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    spec, cluster = job["spec"], job["spec"]["rayClusterSpec"]

    # The entrypoint: a sweep on the cluster, its storage on the shared volume, its spec in the image.
    words = shlex.split(spec["entrypoint"])
    assert words[:2] == ["xlsearch", "run"] and words[words.index("--address") + 1] == "auto"
    storage = words[words.index("--storage") + 1]
    assert (ROOT / "search_spaces" / Path(words[2]).name).is_file()
    assert words[2].startswith("/home/ray/xlsearch/search_spaces/")  # deploy/Dockerfile's WORKDIR

    # A retry (a new Ray cluster, the same command) resumes from the shared volume.
    assert spec["backoffLimit"] >= 1
    assert spec["shutdownAfterJobFinishes"] is True and spec["ttlSecondsAfterFinished"] > 0
    assert claim["kind"] == "PersistentVolumeClaim" and claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for pod in _pod_specs(cluster):
        volume = next(v["name"] for v in pod["volumes"]
                      if v.get("persistentVolumeClaim", {}).get("claimName") == claim["metadata"]["name"])
        mounts = [m["mountPath"] for c in pod["containers"] for m in c["volumeMounts"] if m["name"] == volume]
        assert mounts and all(storage.startswith(m.rstrip("/") + "/") for m in mounts), (mounts, storage)

    # A CPU head that trains nothing; GPU workers on the GPU pool, a fixed group (no autoscaling).
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    assert cluster.get("enableInTreeAutoscaling") is False
    for group in cluster["workerGroupSpecs"]:
        assert group["replicas"] == group["minReplicas"] == group["maxReplicas"] >= 1
        pod = group["template"]["spec"]
        assert all(int(c["resources"]["limits"]["nvidia.com/gpu"]) >= 1 for c in pod["containers"])
        assert pod.get("nodeSelector") and any(t["key"] == "nvidia.com/gpu" for t in pod.get("tolerations", []))

    # Closed: token auth, no Service or ingress reachable from outside the Kubernetes cluster.
    assert cluster["authOptions"]["mode"] == "token"
    assert cluster["headGroupSpec"].get("serviceType", "ClusterIP") == "ClusterIP"
    assert not cluster["headGroupSpec"].get("enableIngress", False)


# --- storage that every node sees -----------------------------------------------------------

def _spec_file(folder: Path, **fields) -> Path:
    spec = {"name": "cloud", "task": "xlsum", "model": "tiny-mt5", "target_languages": ["de"],
            "data": {"en": {"train": {"builtin": "toy"}, "dev": {"builtin": "toy"}}, "de": {"dev": {"builtin": "toy"}}},
            "search": {"algorithm": "grid", "lr": [1e-4], "methods": {"full": {}}},
            "training": {"steps_per_round": 1, "rounds": 1}, "scheduler": "none", **fields}
    path = folder / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize("command, where, uri", [
    ("validate", "spec", "s3://my-bucket/sweeps"), ("run", "spec", "s3://my-bucket/sweeps"),
    ("run", "--storage", "gs://my-bucket/sweeps"), ("validate", "spec", "file:///shared/xlsearch"),
])
def test_cloud_storage_is_refused_in_one_line_before_anything_starts(command, where, uri, tmp_path, capsys,
                                                                      monkeypatch):
    def no_ray(*args, **kwargs):
        raise AssertionError("Ray was started for a storage no node can write")

    monkeypatch.setattr(ray, "init", no_ray)
    monkeypatch.chdir(tmp_path)  # a URI taken for a relative path would become a folder here
    spec = _spec_file(tmp_path, **({"storage": uri} if where == "spec" else {"storage": str(tmp_path / "results")}))
    argv = [command, str(spec)] + (["--storage", uri] if where == "--storage" else [])
    if command == "run":
        argv += ["--num-cpus", "1"]
    before = set(tmp_path.rglob("*"))
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    field = "storage" if where == "spec" else "--storage"
    assert lines[0].startswith("xlsearch: error: ") and f"{field} = {uri!r}" in lines[0]
    assert "every node mounts" in lines[0]
    assert set(tmp_path.rglob("*")) == before


def test_a_sqlite_store_outside_the_shared_storage_is_named_on_a_cluster(tmp_path):
    from xlsearch.checks import parse_spec
    from xlsearch.cli import tracking_off_storage

    def spec(uri):
        raw = yaml.safe_load(_spec_file(tmp_path, storage=str(tmp_path / "shared")).read_text())
        return parse_spec({**raw, "tracking": {"mlflow_uri": uri} if uri else {}}, base_dir=tmp_path)

    note = tracking_off_storage(spec(f"sqlite:///{tmp_path}/home/mlflow.db"))
    assert note and "tracking.mlflow_uri" in note and "outside storage" in note and "\n" not in note
    assert tracking_off_storage(spec(None)) is None  # the default: SQLite in the sweep folder
    assert tracking_off_storage(spec(f"sqlite:///{tmp_path}/shared/mlflow.db")) is None
    assert tracking_off_storage(spec("http://127.0.0.1:5000")) is None
