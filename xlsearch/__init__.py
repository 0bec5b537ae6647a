"""xlsearch: hyperparameter search for zero-shot cross-lingual transfer in generative tasks."""

__version__ = "0.1.0"
