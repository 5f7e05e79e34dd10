"""Training: the configuration, the run, the optimisation step, checkpoints and the run dir."""
