"""vLLM's in-process engine with structured outputs (optional extra: `pip install hqclip[vllm]`).

Thin on purpose: the messages are the openai backend's (`chat_messages`, images as data URLs),
and parsing, validation and retries are the shared pipeline's. It cannot be installed or run in
this project's CI (no GPU, no model hub), so it is untested here; for a tested GPU path run
`vllm serve` and `--backend openai`.

Options: dtype.
"""

from __future__ import annotations

import time

from hqclip.refine.backends.base import Backend, Request, Response, chat_messages


class VLLMBackend(Backend):
    name = "vllm"
    output_options = ("dtype",)

    def __init__(self, cfg):
        super().__init__(cfg)
        try:
            from vllm import LLM, SamplingParams
            from vllm.sampling_params import StructuredOutputsParams
        except ImportError as e:
            raise ImportError(
                "--backend vllm needs the vllm extra: pip install 'hqclip[vllm]'; "
                "or run `vllm serve MODEL` and use --backend openai"
            ) from e
        if not cfg.model:
            raise ValueError("--backend vllm needs --model (a hub name or a local folder)")
        self._params, self._structured = SamplingParams, StructuredOutputsParams
        self.llm = LLM(
            model=cfg.model,
            dtype=cfg.options.get("dtype") or "auto",
            seed=cfg.seed,
            limit_mm_per_prompt={"image": 0 if cfg.no_image else 1},
        )

    def generate(self, requests: list[Request]) -> list[Response]:
        cfg = self.cfg
        start = time.perf_counter()
        params = [
            self._params(
                temperature=cfg.temperature,
                top_p=cfg.top_p,
                max_tokens=cfg.max_tokens,
                seed=r.seed,
                structured_outputs=self._structured(json=cfg.schema()),
            )
            for r in requests
        ]
        outs = self.llm.chat([chat_messages(r, not cfg.no_image) for r in requests], params, use_tqdm=False)
        latency = (time.perf_counter() - start) / len(requests)
        return [
            Response(
                o.outputs[0].text,
                o.outputs[0].finish_reason,
                len(o.prompt_token_ids or []),
                len(o.outputs[0].token_ids),
                latency,
            )
            for o in outs
        ]
