"""The sweep's soups (``selection.soup_top_k``), made once its trials have ended: for each group
and seed (:func:`xlsearch.selection.soup_plans`), the final weights of its best trials by source
dev score averaged (:mod:`xlsearch.training.soup`) and evaluated on every language, in a Ray task
with a worker's resources, as a trial would be.

Each soup is kept in ``SWEEP/soups/<soup_id>/``: its weights (``trainable.pt``), what it averages
(``soup.json``) and its scores (``result.json``, which `xlsearch analyze` reads), and it is an
MLflow child run of the sweep (role ``soup``, the members in its params). A soup already made is
not made again: running the same command after an interruption makes the ones still missing.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

from xlsearch import keys
from xlsearch.spec import SweepSpec

SOUPS_DIR = "soups"
RESULT_FILE = "result.json"
ROLE = "soup"


def soup_dir(sweep_dir: str | Path, soup_id: str) -> Path:
    return Path(sweep_dir) / SOUPS_DIR / soup_id


def read_soups(sweep_dir: str | Path) -> list[dict[str, Any]]:
    """The soups made in a sweep folder: ``{"soup_id", "config", "members", "metrics"}`` each."""
    return [json.loads(p.read_text()) for p in sorted((Path(sweep_dir) / SOUPS_DIR).glob(f"*/{RESULT_FILE}"))]


def soup_label(config: dict[str, Any], members: list[str]) -> str:
    """``soup of 3 · adapters(rank=16) it=none seed=1``."""
    extra = ",".join(f"{k.partition('.')[2]}={v}" for k, v in sorted(config.items())
                     if k.startswith(f"{config.get('method')}."))
    seed = f" seed={config[keys.SEED]}" if config.get(keys.SEED) is not None else ""
    return (f"soup of {len(members)} · {config.get('method')}{'(' + extra + ')' if extra else ''} "
            f"it={config.get('intermediate_tuning')}{seed}")


def make_soups(spec: SweepSpec, placement_, tracker, trials: list[dict[str, Any]],
               log: Callable[[str], None]) -> list[dict[str, Any]]:
    """Make the sweep's missing soups from its trial records (with their outcomes) and return
    every soup it has. Nothing when ``selection.soup_top_k`` is 0."""
    import ray

    from xlsearch.selection import soup_plans, trials_frame
    from xlsearch.sweep.trainable import train_run_dir
    from xlsearch.sweep.tuner import ray_get
    from xlsearch.training.loop import objective_name
    from xlsearch.training.soup import final_checkpoint

    top_k = spec.selection.soup_top_k
    if not top_k:
        return []
    plans = soup_plans(trials_frame(trials), objective_name(spec), top_k)
    if not plans:
        log(f"soup: no group has 2 comparable trials to average (selection.soup_top_k = {top_k})")
    todo = []
    for plan in plans:
        if (soup_dir(spec.sweep_dir, plan["soup_id"]) / RESULT_FILE).is_file():
            continue
        members = [final_checkpoint(train_run_dir(spec.sweep_dir, t)) for t in plan["members"]]
        if any(m is None for m in members):
            log(f"soup {plan['soup_id']}: a member's final weights are gone; not made")
            continue
        todo.append((plan, members))
    if todo:
        log(f"soup: averaging the best {top_k} trials of {len(todo)} group(s) and evaluating each average")
    task = ray.remote(num_cpus=placement_.cpus_per_worker, num_gpus=placement_.gpus_per_worker)(_soup_task)
    lrs = {str(t["trial_id"]): t["config"].get("lr") for t in trials}
    refs = [task.remote(spec.model_dump(), spec.base_dir, {**plan["config"], "lr": lrs[plan["members"][0]]},
                        [str(m) for m in members], str(soup_dir(spec.sweep_dir, plan["soup_id"])))
            for plan, members in todo]
    for (plan, _), found in zip(todo, ray_get(refs)):
        record = {**plan, "metrics": found["metrics"]}
        _log_to_mlflow(tracker, record, found["samples"], spec.training.rounds)
        (soup_dir(spec.sweep_dir, plan["soup_id"]) / RESULT_FILE).write_text(json.dumps(record, indent=2, default=str))
        score = found["metrics"].get(objective_name(spec), float("nan"))
        log(f"soup {plan['soup_id']} ({soup_label(plan['config'], plan['members'])}): {objective_name(spec)} "
            f"{score:.1f}, target wrong-language {found['metrics'].get(keys.target_mean(keys.WRONG_LANGUAGE_RATE), float('nan')):.2f}")
    return read_soups(spec.sweep_dir)


def _log_to_mlflow(tracker, record: dict[str, Any], samples: list[dict[str, str]], rounds: int) -> None:
    """The soup as a child run of the sweep: its group and members as params, its scores at the
    sweep's last round (the round trials are compared at)."""
    soup_id = record["soup_id"]
    tracker.start_trial(soup_id, {**record["config"], "soup_of": ",".join(record["members"])},
                        run_name=soup_label(record["config"], record["members"]), role=ROLE,
                        tags={"method": record["config"].get("method"),
                              "intermediate_tuning": record["config"].get("intermediate_tuning")})
    tracker.log_round(soup_id, {k: v for k, v in record["metrics"].items() if keys.is_metric(k)}, step=rounds)
    if samples:
        tracker.log_samples(soup_id, samples, step=rounds)
    tracker.end_trial(soup_id, "FINISHED", tags={"xlsearch.outcome": ROLE})


def _soup_task(spec_dict: dict[str, Any], base_dir: str, config: dict[str, Any], members: list[str],
               out_dir: str) -> dict[str, Any]:
    from xlsearch.checks import parse_spec
    from xlsearch.training.params import TrialParams
    from xlsearch.training.soup import make_soup

    return make_soup(parse_spec(spec_dict, base_dir=base_dir), TrialParams.from_flat(config),
                     [Path(m) for m in members], Path(out_dir), log=lambda _: None)
