"""Refinement: an LVLM rewrites each image's noisy alt-text into the four-list annotation record.

One shard is the unit of work (`pipeline.refine_shard`); `runners` run it over many shards locally
or on Ray; `resume` makes reruns exactly-once; `backends` hold the model behind one interface.
"""
