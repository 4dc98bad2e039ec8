"""The synthetic world's simulated LVLM as a backend: it answers from the hidden scene graph
(`sample.meta["scene"]`) with tunable omission, hallucination and malformed-output rates, so that
every path of the pipeline (valid rows, retries, invalid rows) runs without a real model.

Options: `omission`, `hallucination`, `malformed` (probabilities), `kinds` (the kinds of negative
it may write, default all of `hqclip.world.kinds.KINDS`: the learnability controls write one), `delay`
(seconds per request, to imitate model latency in benchmarks and kill tests).
"""

from __future__ import annotations

import random
import time

from hqclip.refine.backends.base import Backend, Request, Response


class OracleBackend(Backend):
    name = "oracle"
    output_options = ("omission", "hallucination", "malformed", "kinds")
    rates = ("omission", "hallucination", "malformed")

    def __init__(self, cfg):
        super().__init__(cfg)
        from hqclip.world.kinds import KINDS
        from hqclip.world.oracle import simulate

        self._simulate = simulate
        self._knobs = {k: float(cfg.options.get(k) or 0.0) for k in self.rates}
        self._kinds = tuple(cfg.options.get("kinds") or KINDS)
        if unknown := set(self._kinds) - set(KINDS):
            raise ValueError(f"oracle kinds {sorted(unknown)}: choose from {', '.join(KINDS)}")
        self._delay = float(cfg.options.get("delay") or 0.0)

    @classmethod
    def identity(cls, cfg) -> dict:
        from hqclip.world.oracle import VERSION

        return {**super().identity(cfg), "oracle_version": VERSION}

    @property
    def model_name(self) -> str:
        from hqclip.world.kinds import KINDS

        kinds = "" if set(self._kinds) == set(KINDS) else ",kinds=" + "+".join(self._kinds)
        return "oracle:" + ",".join(f"{k}={v:g}" for k, v in self._knobs.items()) + kinds

    def generate(self, requests: list[Request]) -> list[Response]:
        out = []
        for req in requests:
            start = time.perf_counter()
            if self._delay:
                time.sleep(self._delay)
            scene = req.meta.get("scene")
            if not isinstance(scene, dict):
                out.append(Response(None, error="oracle_needs_scene"))
                continue
            text = self._simulate(scene, random.Random(req.seed), **self._knobs, kinds=self._kinds)
            out.append(Response(text, "stop", latency_s=time.perf_counter() - start))
        return out
