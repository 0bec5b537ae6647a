"""The sweep: search space, budgets, the Tuner and the trial driver that Ray runs."""
