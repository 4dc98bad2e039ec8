"""Refinement: an LVLM rewrites each image's noisy alt-text into the four-list annotation record.

One shard is the unit of work (`pipeline.refine_shard`); `runners` run it over many shards on the
per-unit runner (`hqclip.units`: locally or on Ray, exactly-once); `fingerprint` says what decides
a run's rows; `backends` hold the model behind one interface.
"""
