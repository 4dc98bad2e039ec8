"""Any Hugging Face image-text-to-text model (Qwen2-VL / Qwen2.5-VL first) in this process:
batched generation with the answer constrained by xgrammar to the record's JSON schema, so every
answer that finishes parses. Loads by hub name or local path through the Auto classes.

Options: device (auto | cpu | cuda | cuda:N), dtype (auto | float32 | bfloat16 | float16).
"""

from __future__ import annotations

import json
import time

from hqclip.refine.backends.base import Backend, Request, Response
from hqclip.refine.prompt import user_turn


class TransformersBackend(Backend):
    name = "transformers"
    output_options = ("dtype",)

    def __init__(self, cfg):
        super().__init__(cfg)
        import torch
        import xgrammar as xgr
        from transformers import AutoModelForImageTextToText, AutoProcessor

        if not cfg.model:
            raise ValueError("--backend transformers needs --model (a hub name or a local folder)")
        device = cfg.options.get("device") or "auto"
        self.device = ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device
        dtype = cfg.options.get("dtype") or "auto"
        self.processor = AutoProcessor.from_pretrained(cfg.model)
        self.tokenizer = self.processor.tokenizer
        self.tokenizer.padding_side = "left"  # decoder-only batching: prompts end where answers start
        self.model = AutoModelForImageTextToText.from_pretrained(
            cfg.model, dtype=dtype if dtype == "auto" else getattr(torch, dtype)
        ).to(self.device)
        self.model.eval()
        eos = self.model.generation_config.eos_token_id
        self.stop_ids = {*(eos if isinstance(eos, list) else [eos]), self.tokenizer.eos_token_id} - {None}
        info = xgr.TokenizerInfo.from_huggingface(
            self.tokenizer,
            vocab_size=self.model.config.get_text_config().vocab_size,
            stop_token_ids=sorted(self.stop_ids),
        )
        # compact JSON (no free whitespace): a weak model cannot stall in an endless indent
        self.grammar = xgr.GrammarCompiler(info).compile_json_schema(
            json.dumps(cfg.schema()), any_whitespace=False
        )
        self._torch = torch
        self._logits_processor = xgr.contrib.hf.LogitsProcessor

    def _chat(self, req: Request) -> str:
        return self.processor.apply_chat_template(
            user_turn(req.prompt, not self.cfg.no_image), add_generation_prompt=True, tokenize=False
        )

    def generate(self, requests: list[Request]) -> list[Response]:
        torch, cfg = self._torch, self.cfg
        start = time.perf_counter()
        kw = {} if cfg.no_image else {"images": [r.image for r in requests]}
        inputs = self.processor(
            text=[self._chat(r) for r in requests], padding=True, return_tensors="pt", **kw
        ).to(self.device)
        torch.manual_seed(requests[0].seed)
        sample = cfg.temperature > 0
        with torch.inference_mode():
            out = self.model.generate(
                **inputs,
                max_new_tokens=cfg.max_tokens,
                do_sample=sample,
                temperature=cfg.temperature if sample else None,
                top_p=cfg.top_p if sample else None,
                logits_processor=[self._logits_processor(self.grammar)],
                pad_token_id=self.tokenizer.pad_token_id,
            )
        new = out[:, inputs["input_ids"].shape[1] :].tolist()
        prompt_len = inputs["attention_mask"].sum(dim=1).tolist()
        latency = (time.perf_counter() - start) / len(requests)
        responses = []
        for ids, n_in in zip(new, prompt_len):
            end = next((i for i, t in enumerate(ids) if t in self.stop_ids), None)
            answer = ids if end is None else ids[:end]
            responses.append(
                Response(
                    self.tokenizer.decode(answer, skip_special_tokens=True),
                    "length" if end is None else "stop",
                    int(n_in),
                    len(answer),
                    latency,
                )
            )
        return responses
