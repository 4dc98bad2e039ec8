"""hqclip: LVLM-refined image-text data and the CLIP training that uses it (HQ-CLIP, ICCV 2025)."""

__version__ = "0.1.0"
