"""A distilled student on the world: how close `hqclip distill` gets a small LVLM trained from
scratch to its teacher, measured against the world's truth next to the oracle at 10 % and 30 %
simulated captioner error.

1. a world; the first shards are the seed set, the last ones held out;
2. teacher: the oracle at 0 % error on the seed set (the truth); the held-out shards get the truth
   and the oracle at 10 % and 30 % (omission = hallucination = that rate);
3. student: a Qwen2-VL with random initial weights and a byte-level BPE tokenizer trained on the
   world's texts (its words become tokens), images upscaled to `--pixels`² so the world's objects
   span several patches; `hqclip distill` (full fine-tuning) on the seed set;
4. the student refines the held-out shards (`--backend transformers`: grammar-constrained,
   greedy), and `hqclip compare` scores it and both noisy oracles against the truth.

    python benchmarks/distill_world.py     # 400 + 100 images, 300 steps: docs/distill.md's run
    python benchmarks/distill_world.py --train 2000 --heldout 500 --steps 1500   # larger (not run yet)
    python benchmarks/distill_world.py --smoke
"""

from __future__ import annotations

import json
import math
import shutil
import time
from pathlib import Path

from hqclip.data.samples import SkipLog
from hqclip.data.shards import list_shards
from hqclip.data.sidecar import read_annotations
from hqclip.distill.compare import compare
from hqclip.distill.compare_report import write_compare
from hqclip.distill.config import DistillConfig
from hqclip.distill.sft import run_distill
from hqclip.refine.backends.transformers_hf_test import SPECIALS, build_tiny_qwen2_vl
from hqclip.refine.config import RefineConfig
from hqclip.refine.prompt import answer_text
from hqclip.refine.runners import run_refine

from common import REPO, SMOKE_RESULTS, parser, small_world, smoke_defaults, write_result

PROMPT = "Alt-text: {alt_text}\nDescribe the image as JSON.\n"


def world_tokenizer(sidecars: Path, vocab: int):
    """Byte-level BPE trained on the teacher's answers and the prompt: the world's words and JSON's
    punctuation become single tokens, and any byte string stays encodable (for the grammar)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [PROMPT] + [
        answer_text(rec)
        for p in sorted(sidecars.glob("*.parquet"))
        for rec in read_annotations(p, SkipLog()).values()
    ]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=vocab, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False
        ),
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=SPECIALS,
    )


def linked(shards: list[Path], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for s in shards:
        (folder / s.name).symlink_to(s.resolve())
    return folder


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--train", type=int, default=400, help="seed-set images the teacher annotates")
    ap.add_argument("--heldout", type=int, default=100, help="held-out images (a multiple divides --train)")
    ap.add_argument("--image-size", type=int, default=32, help="the world's rendered image side")
    ap.add_argument("--pixels", type=int, default=56, help="the student's image side (pixels²: its bounds)")
    ap.add_argument("--hidden", type=int, default=64, help="student width")
    ap.add_argument("--layers", type=int, default=2, help="student language layers")
    ap.add_argument("--vision-depth", type=int, default=1, help="student vision layers")
    ap.add_argument("--vocab", type=int, default=500, help="BPE vocabulary size")
    ap.add_argument("--steps", type=int, default=300, help="optimizer steps")
    ap.add_argument("--batch-size", type=int, default=8)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--max-tokens", type=int, default=300, help="the student's answer limit")
    ap.add_argument(
        "--work", type=Path, default=REPO / "runs" / "distill-world", help="working folder (must not exist)"
    )
    args = smoke_defaults(
        ap,
        train=40,
        heldout=20,
        hidden=32,
        layers=1,
        vision_depth=1,
        vocab=300,
        steps=6,
        batch_size=4,
        max_tokens=60,
        work=SMOKE_RESULTS / "distill-world",
    )
    if args.smoke:
        shutil.rmtree(args.work, ignore_errors=True)
    root = args.work
    world = small_world(
        root / "world", args.train + args.heldout, math.gcd(args.train, args.heldout), args.image_size
    )
    shards = list_shards(world / "train")
    n_seed = args.train // math.gcd(args.train, args.heldout)
    seed_set, heldout = (
        linked(shards[:n_seed], root / "seed-shards"),
        linked(shards[n_seed:], root / "heldout"),
    )
    t = {}
    start = time.perf_counter()
    run_refine(RefineConfig(backend="oracle"), seed_set, root / "teacher", progress=False)
    for name, err in (("truth", 0.0), ("oracle-10", 0.1), ("oracle-30", 0.3)):
        opts = {"omission": err, "hallucination": err} if err else {}
        run_refine(RefineConfig(backend="oracle", options=opts), heldout, root / name, progress=False)
    t["oracle_s"] = round(time.perf_counter() - start, 1)
    prompt_file = root / "prompt.txt"
    prompt_file.write_text(PROMPT)
    prompt = RefineConfig(prompt_file=str(prompt_file), few_shot=0)
    build_tiny_qwen2_vl(
        root / "base",
        world_tokenizer(root / "teacher", args.vocab),
        hidden=args.hidden,
        layers=args.layers,
        heads=4 if args.hidden >= 64 else 2,
        vision_depth=args.vision_depth,
        vision_dim=args.hidden // 2,
        min_pixels=args.pixels**2,
        max_pixels=args.pixels**2,
    )
    start = time.perf_counter()
    cfg = DistillConfig(
        max_steps=args.steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        warmup=0.05,
        min_records=min(100, args.train),
        save_steps=max(args.steps // 4, 1),
        logging_steps=max(args.steps // 30, 1),
        val_fraction=0.05,
    )
    stats = run_distill(cfg, prompt, seed_set, root / "teacher", str(root / "base"), root / "student")
    t["distill_s"] = round(time.perf_counter() - start, 1)
    start = time.perf_counter()
    student_cfg = RefineConfig(
        backend="transformers",
        model=str(root / "student"),
        options={"device": "cpu"},
        prompt_file=str(prompt_file),
        few_shot=0,
        temperature=0.0,
        max_tokens=args.max_tokens,
        max_retries=0,
        batch_size=32,
    )
    run_refine(student_cfg, heldout, root / "student-heldout", progress=False)
    t["student_refine_s"] = round(time.perf_counter() - start, 1)
    rows = {}
    for name in ("oracle-10", "oracle-30", "student-heldout"):
        res = compare(root / "truth", root / name, progress=False)
        write_compare(res, root / "compare" / name)
        c = res["candidate"]
        rows[name] = {
            "valid_pct": c["valid_pct"],
            "invalid_reasons": c["invalid_reasons"],
            "tag_f1": res["tags"]["f1"],
            "neg_tag_f1": res["neg_tags"]["f1"],
            "rouge_l": res["description"]["rouge_l"],
            "bleu": res["description"]["bleu"],
            "desc_edits": c["edits"]["desc"],
        }
    losses = [h["loss"] for h in stats["log_history"] if "loss" in h]
    results = {
        "student": {
            "parameters": stats["parameters"],
            "train_records": stats["train_records"],
            "steps": stats["steps"],
            "first_loss": losses[0],
            "last_loss": losses[-1],
            "eval_loss": stats["eval_loss"],
        },
        "against_truth": rows,
        "seconds": t,
    }
    print(json.dumps(results, indent=1))
    print("| annotations | valid % | tag F1 | neg-tag F1 | ROUGE-L | BLEU |")
    for name, r in rows.items():
        cells = [r[k] for k in ("valid_pct", "tag_f1", "neg_tag_f1", "rouge_l", "bleu")]
        print(f"| {name} | " + " | ".join(map(str, cells)) + " |")
    write_result("distill_world", args, results)


if __name__ == "__main__":
    main()
