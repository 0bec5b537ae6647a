"""The parameters a search samples for one trial, and their flat form for Tune and MLflow."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from xlsearch import keys
from xlsearch.methods import get_method


@dataclass(frozen=True)
class TrialParams:
    """What differs between the trials of one sweep."""

    lr: float
    method: str = "full"
    method_params: dict[str, Any] = field(default_factory=dict)
    intermediate_tuning: str = "none"  # "none" or the label of a spec's LM setting
    train_data: str = keys.SOURCE_DATA  # or keys.TRANSLATE_TRAIN
    # The trial's seed (data order, initialisation of new parameters) when the sweep repeats
    # configurations over seeds (``search.seeds``); None: ``search.seed``.
    seed: int | None = None

    def __post_init__(self):
        if not self.lr > 0:
            raise ValueError(f"lr = {self.lr!r}: a learning rate must be > 0")
        if self.train_data not in keys.TRAIN_DATA_CHOICES:
            raise ValueError(f"train_data = {self.train_data!r}: one of {', '.join(keys.TRAIN_DATA_CHOICES)}")
        method = get_method(self.method)
        unknown = set(self.method_params) - set(method.params)
        if unknown:
            raise ValueError(f"{self.method} has no parameter {sorted(unknown)[0]!r}; "
                             f"known: {', '.join(method.params) or 'none'}")

    def run_name(self) -> str:
        """A short name that tells the trials of a sweep apart: ``full · lr 1e-3 · it none``,
        with the method parameters that differ from their defaults (``adapters rank 4 · ...``).
        Two configs that differ in a parameter differ in its shown value, or in showing it."""
        defaults = get_method(self.method).resolved_params({})
        changed = " ".join(f"{k} {_short(v)}" for k, v in sorted(self.method_params.items())
                           if defaults.get(k) != v)
        method = f"{self.method} {changed}" if changed else self.method
        data = " · translate-train" if self.translate_train else ""
        seed = "" if self.seed is None else f" · seed {self.seed}"
        return f"{method} · lr {_short(self.lr)} · it {self.intermediate_tuning}{data}{seed}"

    @property
    def translate_train(self) -> bool:
        """Whether the trial trains on translations of the source data too (not zero-shot)."""
        return self.train_data == keys.TRANSLATE_TRAIN

    def flat(self) -> dict[str, Any]:
        """``{"lr", "method", "intermediate_tuning", "train_data", "<method>.<param>"...}``: one
        level, as Tune configs and MLflow params want it; method parameters are filled with their
        defaults."""
        out: dict[str, Any] = {"lr": self.lr, "method": self.method,
                               "intermediate_tuning": self.intermediate_tuning, keys.TRAIN_DATA: self.train_data}
        resolved = get_method(self.method).resolved_params(self.method_params)
        out.update({f"{self.method}.{k}": v for k, v in resolved.items() if v is not None})
        if self.seed is not None:
            out[keys.SEED] = self.seed
        return out

    @classmethod
    def from_flat(cls, config: dict[str, Any]) -> "TrialParams":
        method = config.get("method", "full")
        prefix = f"{method}."
        params = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
        return cls(lr=float(config["lr"]), method=method, method_params=params,
                   intermediate_tuning=config.get("intermediate_tuning", "none"),
                   train_data=config.get(keys.TRAIN_DATA) or keys.SOURCE_DATA,
                   seed=None if config.get(keys.SEED) is None else int(config[keys.SEED]))

    def label(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in sorted(self.method_params.items()))
        data = " translate-train" if self.translate_train else ""
        seed = "" if self.seed is None else f" seed={self.seed}"
        return f"{self.method}{'(' + extra + ')' if extra else ''} lr={self.lr:.2g} it={self.intermediate_tuning}{data}{seed}"


def _short(value: Any) -> str:
    """``1e-3``, ``3.2e-4``, ``0.5``, ``8``, ``en+de``: numbers in at most 3 significant digits."""
    if isinstance(value, float):
        if value != 0 and not 0.1 <= abs(value) < 1e4:
            mantissa, exponent = f"{value:.2e}".split("e")
            return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
        return f"{value:.3g}"
    if isinstance(value, (list, tuple)):
        return "+".join(map(str, value))
    return str(value)
