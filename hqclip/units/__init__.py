"""The exactly-once per-unit runner: a job's units (shards, sidecars, import phases) run in this
process, in local worker processes or as Ray tasks (`run`), resumable through done markers and a
run fingerprint (`resume`), orchestrated one way for every command (`stage.run_stage`)."""
