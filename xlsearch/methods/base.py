"""What every adaptation method declares: its name, its searchable sub-parameters, and how it
changes the model and the training data.

A method is one module with one subclass of :class:`AdaptationMethod`, registered by one line
in ``xlsearch/methods/__init__.py``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:  # torch is the trial's: the driver and a trial's Tune process read the methods without it
    from torch import nn


@dataclass(frozen=True)
class Param:
    """One sub-parameter of a method, e.g. the prompt length of prompt tuning.

    ``low``/``high`` are inclusive bounds for numbers; ``kind="languages"`` is a list of
    ISO 639-1 codes.
    """

    kind: Literal["int", "float", "languages"]
    default: Any
    help: str
    low: float | None = None
    high: float | None = None
    low_exclusive: bool = False

    def allowed(self) -> str:
        if self.kind == "languages":
            return "a list of ISO 639-1 language codes"
        lo = "" if self.low is None else f"{'>' if self.low_exclusive else '>='} {self.low:g}"
        hi = "" if self.high is None else f"<= {self.high:g}"
        bounds = " and ".join(b for b in (lo, hi) if b)
        return f"{'an integer' if self.kind == 'int' else 'a number'}{' ' + bounds if bounds else ''}"

    def is_valid(self, value: Any) -> bool:
        if self.kind == "languages":
            return isinstance(value, list) and len(value) > 0 and all(isinstance(v, str) for v in value)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and not float(value).is_integer():
            return False
        if self.low is not None and (value <= self.low if self.low_exclusive else value < self.low):
            return False
        return self.high is None or value <= self.high


class AdaptationMethod:
    """Base class: full finetuning of every parameter on the source-language task data."""

    name: str = ""
    description: str = ""
    params: dict[str, Param] = {}
    # True when the method wraps the model in peft: its checkpoints hold only the adapter.
    uses_peft: bool = False
    # True when the method trains on unlabeled target-language text (the spec must provide some).
    trains_on_target_text: bool = False

    def prepare_model(self, model: nn.Module, family: str, params: dict[str, Any]) -> nn.Module:
        """Freeze, wrap or leave the model; returns the model to train."""
        return model

    def training_languages(self, params: dict[str, Any], source_languages: list[str]) -> list[str]:
        """The languages whose labelled task data the method trains on."""
        return list(source_languages)

    def target_lm_ratio(self, params: dict[str, Any]) -> float:
        """Share of steps that also train a denoising objective on unlabeled target text."""
        return 0.0

    def resolved_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """The method's parameters with defaults filled in for those not given."""
        return {name: params.get(name, p.default) for name, p in self.params.items()}
