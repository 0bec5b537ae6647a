"""One trial, from a config to per-language scores: data, the training loop, evaluation,
checkpoints and the intermediate-tuning cache. Runs without Ray; Ray Train workers call
:func:`xlsearch.training.loop.run_trial` as it is."""
