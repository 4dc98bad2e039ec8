"""The synthetic compositional world: rendered scenes with hidden scene graphs, web-like noisy
alt-text, held-out attribute–object compositions for evaluation, and a simulated LVLM (the
oracle). It stands in for DFN-Large + a real LVLM at CPU scale."""
