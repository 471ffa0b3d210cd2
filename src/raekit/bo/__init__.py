"""Bayesian optimisation in the latent space of a trained sequence model (the paper's Figure 2):
the GP and acquisition loop (`bayesian`) and the driver over a run directory (`optimise`)."""
