"""The recaptioner: a strong model's records → supervised fine-tuning of a small LVLM (TRL) → an
ordinary model folder for `hqclip refine --backend transformers`; and `hqclip compare`, the
agreement of two annotation sets of the same samples (teacher vs student)."""
