"""The quickstart experiment: world → refine (oracle) → train four variants → evaluate → report."""
