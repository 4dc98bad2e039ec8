"""Fixtures for the distill tests: a small world, its oracle records as the teacher, a short prompt
(the byte-level tiny tokenizer makes every prompt character a token) and the tiny random-weight
Qwen2-VL of the transformers backend's tests as the base model."""

from __future__ import annotations

from pathlib import Path

import pytest

from hqclip.refine.config import RefineConfig
from hqclip.refine.conftest import small_world
from hqclip.refine.runners import run_refine

PROMPT = "Alt-text: {alt_text}\nAnswer in JSON.\n"


def prompt_cfg(folder: Path) -> RefineConfig:
    """The prompt settings the student is trained with and refined with."""
    path = folder / "prompt.txt"
    path.write_text(PROMPT)
    return RefineConfig(prompt_file=str(path), few_shot=0)


@pytest.fixture(scope="session")
def teacher(tmp_path_factory) -> tuple[Path, Path]:
    """(world, its oracle sidecars): 40 samples in 2 shards, one sentence and two tags each, so
    an answer is short."""
    root = tmp_path_factory.mktemp("teacher")
    world = small_world(root / "world", samples=40, shard_size=20)
    run_refine(RefineConfig(backend="oracle"), world / "train", root / "sidecars", progress=False)
    return world, root / "sidecars"


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> str:
    from hqclip.refine.backends.transformers_hf_test import build_tiny_qwen2_vl

    return str(build_tiny_qwen2_vl(tmp_path_factory.mktemp("base") / "tiny-qwen2-vl"))
