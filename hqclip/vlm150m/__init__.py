"""`hqclip import-vlm150m`: the released VLM-150M / VLM-1B annotations joined to your own image
shards, a job on the per-unit runner (`hqclip.units`). The release's format and the export back to
it are data's (`hqclip.data.vlm150m`)."""
