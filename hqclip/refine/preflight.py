"""Refuse, before any work, a refine run that cannot succeed as configured.

A mistake found after a whole pass costs the pass (and on real data, GPU hours); each one here is
found first, from the input's first readable sample and at most two requests per endpoint, and
ends in `UserError`: one line that names the file, sample or endpoint and says what to do. Checked:
an input with no readable sample; `--output` holding a parquet file that is not a sidecar (the
one img2dataset writes beside each shard would be overwritten); the default backend (`auto`) on
input that is not a world; the oracle on input that is not a world; an endpoint that does not
answer, refuses the key or does not serve `--model`; a model that does not take images without
`--no-image` (openai: one request with a small image; transformers / vllm: the model's config).
"""

from __future__ import annotations

import base64
import dataclasses
import importlib.util
import io
import logging
import os
import re
from pathlib import Path

from hqclip.data.inputs import iter_unit
from hqclip.data.samples import Sample, SkipLog
from hqclip.data.sidecar import is_sidecar, sidecar_path
from hqclip.errors import UserError
from hqclip.refine.backends import BACKENDS
from hqclip.refine.config import OpenAIOptions, RefineConfig

log = logging.getLogger("hqclip.refine")

EXTRAS = {"transformers": ("hf", ("transformers", "xgrammar")), "vllm": ("vllm", ("vllm",))}
CHOOSE = (
    "--backend openai --endpoint URL (vllm serve, SGLang, llama.cpp, Ollama, a hosted API), "
    "--backend transformers --model NAME, or --backend vllm --model NAME"
)
# how servers word "this model takes no images" (llama.cpp: "image input is not supported",
# vLLM: "... is not a multimodal model", OpenAI: "image_url is only supported by certain models")
_NO_IMAGE = re.compile(r"image|vision|multimodal|multi-modal|mmproj|modalit", re.IGNORECASE)


def check(cfg: RefineConfig, units: list[Path], out_dir: Path) -> RefineConfig:
    """The configuration to run (`auto` resolved, the served model named), or `UserError`."""
    if cfg.backend != "auto" and cfg.backend not in BACKENDS:
        raise UserError(f"unknown --backend {cfg.backend!r}; choose auto, {', '.join(BACKENDS)}")
    unit, sample = _first_sample(units)
    _check_output(units[0], out_dir)
    if cfg.backend == "auto":
        if not _has_scene(sample):
            raise UserError(
                f"{unit}: sample {sample.key} has no scene graph, so this is not a world "
                f"and there is no default model; choose one: {CHOOSE}"
            )
        cfg = dataclasses.replace(cfg, backend="oracle")
    if cfg.backend == "oracle" and not _has_scene(sample):
        raise UserError(
            f"{unit}: sample {sample.key} has no scene graph; --backend oracle only "
            f"answers world shards (hqclip world); for real data choose {CHOOSE}"
        )
    if cfg.backend == "openai":
        cfg = _check_endpoints(cfg)
    elif cfg.backend in ("transformers", "vllm"):
        _check_model_config(cfg)
    return cfg


def _has_scene(sample: Sample) -> bool:
    return isinstance(sample.meta.get("scene"), dict)


def _first_sample(units: list[Path]) -> tuple[Path, Sample]:
    """The first sample any unit yields; empty and unreadable units are passed over."""
    skips = SkipLog()
    for unit in units:
        samples = iter_unit(unit, skips)
        try:
            first = next(samples, None)
        finally:
            samples.close()
        if first is not None:
            return unit, first
    why = ", ".join(f"{k} {v}" for k, v in skips.as_dict().items()) or "no samples"
    raise UserError(
        f"{units[0]}{f' and {len(units) - 1} more' if len(units) > 1 else ''}: no "
        f"readable sample ({why}); check --input and how the shards were written"
    )


def _check_output(first_unit: Path, out_dir: Path) -> None:
    path = sidecar_path(first_unit, out_dir)
    if path.exists() and not is_sidecar(path):
        raise UserError(
            f"{path} exists and is not an hqclip sidecar (img2dataset writes its metadata "
            f"under that name beside each shard); refine would overwrite it: choose "
            f"another --output"
        )


def _probe_image() -> str:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 30, 30)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _check_endpoints(cfg: RefineConfig) -> RefineConfig:
    """Every endpoint lists its models and serves the model (the first listed when no --model);
    unless --no-image, the first one answers a request that carries an image."""
    import openai

    o = OpenAIOptions.of(cfg.options)
    endpoints = list(o.endpoints)
    if not endpoints:
        raise UserError("--backend openai needs --endpoint, e.g. http://127.0.0.1:8000/v1")
    key_env = o.api_key_env
    timeout = float(o.timeout)
    model = cfg.model
    clients = []
    for url in endpoints:
        client = openai.OpenAI(
            base_url=url,
            api_key=os.environ.get(key_env) or "EMPTY",
            max_retries=0,
            timeout=min(timeout, 10.0),
        )
        clients.append(client)
        try:
            listed = client.models.list().data
        except (openai.APIConnectionError, openai.APITimeoutError) as e:
            raise UserError(
                f"{url} does not answer ({type(e).__name__}); start the server or fix --endpoint"
            ) from None
        except (openai.AuthenticationError, openai.PermissionDeniedError) as e:
            raise UserError(
                f"{url} refused the API key (HTTP {e.status_code}); put a valid key in "
                f"the environment variable {key_env} (--api-key-env)"
            ) from None
        except openai.NotFoundError:
            log.warning("%s does not list its models (no /models); --model is not checked", url)
            continue
        except openai.APIStatusError as e:
            raise UserError(
                f"{url} is not ready (HTTP {e.status_code} on /models); wait until "
                f"the server has loaded its model, then rerun"
            ) from None
        served = [m.id for m in listed]
        for m in listed:
            served += list((m.model_extra or {}).get("aliases") or [])
        if model is None and served:
            model = served[0]
        if model not in served:
            raise UserError(
                f"{url} does not serve --model {model} (it serves "
                f"{', '.join(sorted(set(served))[:5]) or 'nothing'}); pass one of those "
                f"as --model, or point --endpoint at the server of {model}"
            )
    if model is None:
        raise UserError(f"{endpoints[0]} lists no model; pass --model")
    if not cfg.no_image:
        _check_takes_images(clients[0], endpoints[0], model)
    return dataclasses.replace(cfg, model=model)


def _check_takes_images(client, url: str, model: str) -> None:
    """One short request with a 64 px image: a server whose model takes no images says so."""
    import openai

    content = [
        {"type": "image_url", "image_url": {"url": _probe_image()}},
        {"type": "text", "text": "Name the colour of this image in one word."},
    ]
    try:
        client.chat.completions.create(
            model=model, max_tokens=4, messages=[{"role": "user", "content": content}]
        )
    except openai.APIStatusError as e:
        body = e.body if isinstance(e.body, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else body
        msg = " ".join(str(error.get("message") or e.message).split())[:160]
        if e.status_code != 429 and _NO_IMAGE.search(msg):
            raise UserError(
                f"{url}: {model} does not take images (HTTP {e.status_code}: {msg}); add "
                f"--no-image to rewrite the alt-text alone, or serve a vision-language "
                f"model"
            ) from None
        log.warning(
            "%s: could not confirm that %s takes images (HTTP %s); going on", url, model, e.status_code
        )
    except (openai.APIConnectionError, openai.APITimeoutError) as e:
        log.warning("%s: could not confirm that %s takes images (%s); going on", url, model, type(e).__name__)


def _check_model_config(cfg: RefineConfig) -> None:
    """The backend's extra is installed, and from the model's config alone (no weights loaded):
    transformers loads image-text-to-text models only; a model without a vision tower needs
    --no-image."""
    extra, modules = EXTRAS[cfg.backend]
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(
            f"--backend {cfg.backend} needs {', '.join(missing)}: pip install "
            f"'hqclip[{extra}]'; or serve the model (vllm serve MODEL) and use "
            f"--backend openai"
        )
    if not cfg.model:
        raise UserError(f"--backend {cfg.backend} needs --model (a hub name or a local folder)")
    config = model_config(cfg.model, "--model")
    kind = getattr(config, "model_type", "?")
    text_only = getattr(config, "vision_config", None) is None
    if cfg.backend == "transformers" and not image_text_to_text(config):
        raise UserError(
            f"--model {cfg.model} is {model_kind(config)}, which --backend transformers "
            f"cannot load; serve it (vllm serve, llama.cpp) and use --backend openai"
            f"{' --no-image' if text_only else ''}"
        )
    if text_only and not cfg.no_image:
        raise UserError(
            f"--model {cfg.model} is a text-only model ({kind}); add --no-image to "
            f"rewrite the alt-text alone, or choose a vision-language model"
        )


def model_config(name: str, flag: str):
    """The config of a hub name or local model folder (no weights loaded), or `UserError`."""
    from transformers import AutoConfig

    try:
        return AutoConfig.from_pretrained(name)
    except Exception as e:  # noqa: BLE001 - hub, path and parse errors all mean the same to a user
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise UserError(
            f"{flag} {name}: its config could not be read ({first}); pass a hub "
            f"name you can download or a local folder with config.json"
        ) from None


def image_text_to_text(config) -> bool:
    """Whether transformers' AutoModelForImageTextToText loads this model."""
    from transformers.models.auto.modeling_auto import MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES

    return getattr(config, "model_type", None) in MODEL_FOR_IMAGE_TEXT_TO_TEXT_MAPPING_NAMES


def model_kind(config) -> str:
    """'a text-only model (llama)' or 'not an image-text-to-text model (clip)', for a refusal."""
    text_only = getattr(config, "vision_config", None) is None
    what = "a text-only model" if text_only else "not an image-text-to-text model"
    return f"{what} ({getattr(config, 'model_type', '?')})"
