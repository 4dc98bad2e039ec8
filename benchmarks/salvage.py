"""What salvage buys: valid % of `hqclip refine` with salvage (the default) and with
`--no-salvage`, printed side by side with the pairs salvage dropped.

1. the oracle (simulated LVLM) on a small world at 10 % malformed answers, with the default
   retries (2) and with none; both runs each (the oracle is deterministic), and for the run
   without retries also the figure read off the salvage run alone (ok rows with nothing dropped)
   to show that this reading equals a real --no-salvage run;
2. a real text LLM: llama.cpp's server with SmolLM2-135M-Instruct (`make setup` installs both),
   text-only, grammar-constrained to `--pairs` aligned pairs per list, on the first world
   samples, with the llama.cpp test's settings. llama.cpp's batched decoding is not bit-exact
   between runs, so both figures come from one salvage run (without retries, an answer is valid
   without salvage exactly when salvage dropped nothing).

    python benchmarks/salvage.py                      # oracle on 2,000 samples, llama on 12
    python benchmarks/salvage.py --llm-samples 24 --pairs 3
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

from hqclip.data.shards import iter_shard, list_shards, write_shards
from hqclip.data.sidecar import read_sidecar
from hqclip.refine.backends.llamacpp_local import serve, smollm2_gguf
from hqclip.refine.config import RefineConfig
from hqclip.refine.runners import run_refine

from common import parser, small_world, smoke_defaults, write_result


def pct(n: int, total: int) -> float:
    return round(100.0 * n / total, 2)


def refine(cfg: RefineConfig, inputs: Path, out: Path) -> dict:
    stats = run_refine(cfg, inputs, out, progress=False)["total"]
    rows = [r for p in sorted(out.glob("*.parquet")) for r in read_sidecar(p)]
    stats["valid_pct_nothing_dropped"] = pct(
        sum(r["status"] == "ok" and not r["dropped"] for r in rows), len(rows)
    )
    return stats


def main() -> None:
    ap = parser(__doc__)
    ap.add_argument("--samples", type=int, default=2000, help="oracle: world samples")
    ap.add_argument("--llm-samples", type=int, default=12, help="llama.cpp: samples (0: skip)")
    ap.add_argument("--pairs", type=int, default=2, help="llama.cpp: pairs per list")
    args = smoke_defaults(ap, samples=200, llm_samples=1)
    logging.basicConfig(level=logging.ERROR)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        world = small_world(tmp / "world", args.samples, shard_size=500, image_size=32, workers=1)
        for retries in (2, 0):
            runs = {
                s: refine(
                    RefineConfig(
                        backend="oracle", options={"malformed": 0.1}, max_retries=retries, salvage=s
                    ),
                    world,
                    tmp / f"oracle-{retries}-{s}",
                )
                for s in (False, True)
            }
            results.append(
                {
                    "run": f"hqclip refine --backend oracle --malformed 0.1 --max-retries {retries}",
                    "samples": runs[True]["samples"],
                    "valid_pct_no_salvage": runs[False]["valid_pct"],
                    "valid_pct_salvage": runs[True]["valid_pct"],
                    **(
                        {"valid_pct_no_salvage_read_off_salvage_run": runs[True]["valid_pct_nothing_dropped"]}
                        if retries == 0
                        else {}
                    ),
                    "salvaged": runs[True]["salvaged"],
                    "dropped": runs[True]["dropped"],
                    "invalid_no_salvage": runs[False]["reasons"],
                    "invalid_salvage": runs[True]["reasons"],
                }
            )
            print(json.dumps(results[-1]))
        if args.llm_samples:
            first = [
                s for _, s in zip(range(args.llm_samples), iter_shard(list_shards(world)[0], decode=False))
            ]
            shard = write_shards(
                (
                    {"__key__": s.key, "png": s.image_bytes, "txt": s.text, "json": {"uid": s.uid}}
                    for s in first
                ),
                tmp / "llm-in",
            )[0]
            with serve(smollm2_gguf()) as url:
                cfg = RefineConfig(
                    backend="openai",
                    no_image=True,
                    few_shot=0,
                    pairs=args.pairs,
                    max_chars=32,
                    max_tokens=200,
                    max_retries=0,
                    temperature=0.7,
                    batch_size=2,
                    options={"endpoints": [url], "concurrency": 2, "timeout": 300, "retries": 2},
                )
                st = refine(cfg, shard, tmp / "llm")
            results.append(
                {
                    "run": f"llama.cpp SmolLM2-135M, hqclip refine --backend openai --no-image "
                    f"--few-shot 0 --pairs {args.pairs} --max-chars 32 --max-tokens 200 "
                    f"--max-retries 0 --temperature 0.7",
                    "samples": st["samples"],
                    "valid_pct_no_salvage": st["valid_pct_nothing_dropped"],
                    "valid_pct_salvage": st["valid_pct"],
                    "salvaged": st["salvaged"],
                    "dropped": st["dropped"],
                    "invalid_salvage": st["reasons"],
                    "tokens_out": st["tokens_out"],
                }
            )
            print(json.dumps(results[-1]))
    write_result("salvage", args, {"runs": results})


if __name__ == "__main__":
    main()
