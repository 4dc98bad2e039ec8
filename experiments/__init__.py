"""Studies behind the docs, not part of the hqclip package (never installed): each script uses
hqclip's public API only and is run from the repository root, e.g. `python -m experiments.study`."""
