"""The open_clip adapter that train, eval and curate share: hqclip's model configs and model
creation (`configs`), and the text-tower forward trimmed to the batch's longest sequence (`text`)."""
