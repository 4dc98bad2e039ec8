"""The quickstart experiment: world → refine (oracle) → train four variants → evaluate → report.

`plan` says what to train; `stages` makes the world, the sidecars and the models (each cached on
disk); `stats` groups results over seeds; `verdicts` holds the rules that judge the claims,
controls and plateau; `cycle` is one turn of refine → score → filter → retrain; `summary` writes
the report; `run` puts them in order. Imports go one way: plan ← stages ← {cycle, verdicts},
stats ← {cycle, verdicts, summary}, verdicts ← summary, and {cycle, summary} ← run."""
