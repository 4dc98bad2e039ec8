"""DataComp's 38-task evaluation (`hqclip eval --suite datacomp`): the task list (`tasks`), the
readers of its on-disk formats (`layout`, `wds`, `hf`), its metrics and aggregates (`metrics`,
`aggregate`), one task for one model (`evaluate`), the resumable runner (`suite`), the report
(`report`) and the fetch from the Hugging Face hub (`fetch`). docs/datacomp.md tells the whole."""
