"""`hqclip distill` end to end on CPU: the tiny random-weight Qwen2-VL fine-tuned for a few steps on
the world's oracle records — the loss falls, only the answer and its end of turn carry labels, the
output folder answers a real `hqclip refine` run, a LoRA run merges, a stopped run resumes."""

import json

import pytest
from transformers import AutoProcessor, TrainerCallback
from typer.testing import CliRunner

from hqclip.cli.main import app
from hqclip.data.sidecar import read_sidecar
from hqclip.distill.config import DistillConfig
from hqclip.distill.conftest import prompt_cfg
from hqclip.distill.sft import make_trainer, run_distill
from hqclip.refine.prompt import answer_text
from hqclip.refine.runners import run_refine

pytestmark = pytest.mark.slow

FAST = {"batch_size": 4, "scheduler": "constant", "warmup": 0, "min_records": 10, "logging_steps": 1}


@pytest.fixture(scope="module")
def student(teacher, tiny_base, tmp_path_factory):
    world, sidecars = teacher
    root = tmp_path_factory.mktemp("student")
    cfg = DistillConfig(
        max_steps=8, learning_rate=1e-2, save_steps=4, min_pixels=56 * 56, max_pixels=56 * 56, **FAST
    )
    stats = run_distill(cfg, prompt_cfg(root), world / "train", sidecars, tiny_base, root / "out")
    return root, stats


def test_the_loss_falls_and_the_split_holds_out_records(student):
    root, stats = student
    losses = [h["loss"] for h in stats["log_history"] if "loss" in h]
    assert len(losses) == 8 and losses[-1] < 0.85 * losses[0]
    assert stats["train_records"] + stats["validation_records"] == stats["teacher_records"] == 40
    assert stats["validation_records"] >= 1 and stats["eval_loss"] is not None
    saved = json.loads((root / "out" / "distill-stats.json").read_text())
    assert saved["steps"] == 8 and (root / "out" / "loss.png").stat().st_size > 0


def test_only_the_answer_and_its_end_of_turn_carry_labels(teacher, tiny_base, tmp_path):
    world, sidecars = teacher
    pc = prompt_cfg(tmp_path)
    trainer = make_trainer(
        DistillConfig(max_steps=1, **FAST),
        pc,
        sorted((world / "train").glob("*.tar")),
        sidecars,
        tiny_base,
        tmp_path / "out",
        progress=False,
    )
    row = trainer.train_dataset[0]
    batch = trainer.data_collator([row])
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    tok = trainer.processing_class.tokenizer
    trained = ids[labels != -100].tolist()
    answer = row["completion"][0]["content"][0]["text"]
    assert tok.decode(trained) == answer + "<|im_end|>\n"  # the template's end of turn
    assert (labels[labels != -100] == ids[labels != -100]).all()
    image = tok.convert_tokens_to_ids("<|image_pad|>")
    assert (ids == image).sum() > 0 and not (labels == image).any()
    prompt = tok.decode(ids[labels == -100].tolist())  # refine's chat: the image, then the prompt
    assert (
        prompt.startswith("<|im_start|>user\n<|vision_start|><|image_pad|>") and "Answer in JSON." in prompt
    )
    record = json.loads(answer)
    assert list(record) == ["desc", "neg_desc", "tags", "neg_tags"] and answer == answer_text(record)


def test_the_output_is_a_model_that_refine_runs(student, teacher):
    pytest.importorskip("xgrammar")
    root, _ = student
    world, _ = teacher
    cfg = prompt_cfg(root)
    cfg.backend, cfg.model, cfg.options = "transformers", str(root / "out"), {"device": "cpu"}
    cfg.max_tokens, cfg.max_retries, cfg.temperature, cfg.sample = 150, 0, 0.0, 4
    cfg.max_items, cfg.max_chars = 1, 20  # a short answer: greedy decoding on CPU is slow
    stats = run_refine(cfg, world / "train", root / "refined", progress=False)
    rows = [r for p in sorted((root / "refined").glob("*.parquet")) for r in read_sidecar(p)]
    assert stats["total"]["samples"] == len(rows) > 0
    assert all(r["model"] == f"transformers:{root / 'out'}" and r["tokens_out"] for r in rows)
    assert not (root / "out" / "adapter_model.safetensors").exists()
    size = AutoProcessor.from_pretrained(root / "out").image_processor.size  # training's image bounds
    assert (size["shortest_edge"], size["longest_edge"]) == (56 * 56, 56 * 56)


def test_a_lora_run_merges_into_a_plain_model(teacher, tiny_base, tmp_path):
    import torch
    from transformers import AutoModelForImageTextToText

    world, sidecars = teacher
    pc = prompt_cfg(tmp_path)
    res = CliRunner().invoke(
        app,
        [
            "distill", "--input", str(world / "train"), "--sidecars", str(sidecars), "--base", tiny_base,
            "--output", str(tmp_path / "out"), "--lora", "--lora-r", "4", "--learning-rate", "5e-2",
            "--max-steps", "3", "--save-steps", "100", "--batch-size", "4", "--scheduler", "constant",
            "--warmup", "0", "--min-records", "10", "--prompt", pc.prompt_file, "--few-shot", "0",
            "--no-progress",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    line = json.loads(res.stdout.strip().splitlines()[-1])
    assert line["steps"] == 3 and line["prompt"] == {
        "no_image": False, "prompt_file": pc.prompt_file, "examples_file": None, "few_shot": 0
    }  # fmt: skip
    assert not list((tmp_path / "out").glob("adapter_*"))
    merged = AutoModelForImageTextToText.from_pretrained(tmp_path / "out").state_dict()
    base = AutoModelForImageTextToText.from_pretrained(tiny_base).state_dict()
    assert set(merged) == set(base)  # no lora_A/lora_B left
    changed = [k for k in base if not torch.equal(base[k], merged[k])]
    assert changed and all("language_model" in k and "proj" in k for k in changed)


class _Stop(TrainerCallback):
    def on_step_end(self, args, state, control, **kw):
        if state.global_step == 3:
            raise KeyboardInterrupt


def test_a_stopped_run_resumes_from_its_last_checkpoint(teacher, tiny_base, tmp_path):
    world, sidecars = teacher
    cfg = DistillConfig(max_steps=4, learning_rate=1e-3, save_steps=2, **FAST)
    args = (cfg, prompt_cfg(tmp_path), world / "train", sidecars, tiny_base, tmp_path / "out")
    with pytest.raises(KeyboardInterrupt):
        run_distill(*args, progress=False, callbacks=(_Stop(),))
    assert (tmp_path / "out" / "checkpoints" / "checkpoint-2").is_dir()
    stats = run_distill(*args, progress=False)
    assert stats["resumed_from"].endswith("checkpoint-2") and stats["steps"] == 4
    assert [h["step"] for h in stats["log_history"] if "loss" in h] == [1, 2, 3, 4]
