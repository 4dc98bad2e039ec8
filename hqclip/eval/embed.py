"""Image and text embeddings, batched, with a progress bar, cached on disk by (weights, transform,
tokenizer, content) so a rerun or a second report over the same data costs nothing.
`encode_images` and `encode_texts` are the forward passes themselves, on tensors and token ids in
memory: eval's `Embedder` and `hqclip score` both embed through them."""

from __future__ import annotations

import functools
import hashlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hqclip.clip.load import Loaded, device_of, weights_hash
from hqclip.data.atomic import atomic_open
from hqclip.progress import bar

log = logging.getLogger("hqclip.eval")


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "hqclip" / "eval"


class _Images:
    """Map-style dataset: decoded, transformed images; an unreadable one becomes None."""

    def __init__(self, paths: list[Path], preprocess):
        self.paths, self.preprocess = paths, preprocess

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int):
        from PIL import Image

        try:
            with Image.open(self.paths[i]) as img:
                return self.preprocess(img.convert("RGB"))
        except Exception as e:  # any decode failure: the caller names and skips the image
            log.debug("%s: %s", self.paths[i], e)
            return None


def _collate(batch):
    import torch

    ok = [x for x in batch if x is not None]
    return (torch.stack(ok) if ok else None), [x is not None for x in batch]


# Work that does not depend on the weights (decoded, preprocessed images; token ids) is remembered
# for the next model with the same transform or tokenizer, so evaluating many checkpoints of one
# architecture (learning curves, seeds) in one `evaluate` call pays for it once; the call clears it
# when it ends (`clear_memo`), so nothing outlives the run that read the files. Inputs over MEMO_BYTES
# are not kept; the MEMO_ENTRIES most recent sets are.
MEMO_BYTES = 1 << 30
MEMO_ENTRIES = 4
_memo: dict[str, object] = {}


def clear_memo() -> None:
    _memo.clear()


def _remember(key: str, value: object) -> None:
    _memo.pop(key, None)
    _memo[key] = value
    while len(_memo) > MEMO_ENTRIES:
        del _memo[next(iter(_memo))]


def encode_images(m: Loaded, x) -> np.ndarray:
    """L2-normalised embeddings of a batch of preprocessed images (an N×C×H×W tensor)."""
    import torch

    with torch.no_grad():
        emb = m.model.encode_image(x.to(device_of(m.model)))
        return torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy()


def encode_texts(m: Loaded, tokens, batch_size: int, desc: str | None = None) -> np.ndarray:
    """L2-normalised embeddings of tokenised texts (the tokenizer's N×L ids), encoded in batches of
    similar length, each trimmed to its longest sequence (`hqclip.clip.text`: exact for
    causal towers, full context otherwise); `desc` shows a progress bar over the batches."""
    import torch

    from hqclip.clip.text import encode_text

    if len(tokens) == 0:
        return np.zeros((0, embed_dim(m)), np.float32)
    device = device_of(m.model)
    order = torch.argsort((tokens != 0).sum(dim=1), stable=True)
    out: np.ndarray | None = None
    starts = range(0, len(tokens), batch_size)
    with torch.no_grad():
        for i in bar(starts, desc=desc, unit="batch") if desc else starts:
            idx = order[i : i + batch_size]
            emb = encode_text(m.model, tokens[idx].to(device), normalize=True).float().cpu().numpy()
            if out is None:
                out = np.empty((len(tokens), emb.shape[1]), np.float32)
            out[idx.numpy()] = emb
    return out


def embed_dim(m: Loaded) -> int:
    """Embedding width, for the rows of a batch in which no image was readable."""
    import torch

    with torch.no_grad():
        tok = m.tokenizer(["a"]).to(device_of(m.model))
        return m.model.encode_text(tok).shape[-1]


class Embedder:
    """L2-normalised embeddings of one model. Rows of unreadable images are NaN."""

    def __init__(self, m: Loaded, batch_size: int = 64, cache_dir: Path | None = None, workers: int = 0):
        self.m, self.batch_size, self.workers = m, batch_size, workers
        self.cache_dir = Path(cache_dir) if cache_dir else None
        self.fp = weights_hash(m) if cache_dir else ""

    def _cached(self, kind: str, content: hashlib._Hash, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """`content` hashes the inputs; the key adds the model's weights hash."""
        if self.cache_dir is None:
            return compute()
        content.update(self.fp.encode())
        path = self.cache_dir / f"{kind}-{content.hexdigest()[:32]}.npy"
        if path.is_file():
            log.info("%s: %s embeddings from cache %s", self.m.label, kind, path)
            return np.load(path, allow_pickle=False)
        out = compute()
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_open(path, "wb") as f:
            np.save(f, out, allow_pickle=False)
        return out

    def images(self, paths: list[Path]) -> np.ndarray:
        h = hashlib.sha256(b"images")
        for p in paths:
            h.update(hashlib.sha256(p.read_bytes()).digest())
        memo_key = f"images:{h.hexdigest()}:{self.m.preprocess!r}"
        return self._cached("images", h, lambda: self._encode_images(paths, memo_key))

    def texts(self, texts: list[str]) -> np.ndarray:
        h = hashlib.sha256(b"texts")
        for t in texts:
            h.update(t.encode() + b"\0")
        tok = self.m.tokenizer
        memo_key = (
            f"tokens:{h.hexdigest()}:{type(tok).__name__}:{getattr(tok, 'context_length', '')}:"
            f"{getattr(getattr(tok, 'tokenizer', None), 'name_or_path', '')}"
        )
        return self._cached("texts", h, lambda: self._encode_texts(texts, memo_key))

    def _batches(self, paths: list[Path], memo_key: str):
        """(preprocessed batch or None, readable mask) per batch; remembered for the next model
        with the same transform when the whole set fits in MEMO_BYTES."""
        from torch.utils.data import DataLoader

        if memo_key in _memo:
            yield from _memo[memo_key]
            return
        kept, size = [], 0
        for x, ok in DataLoader(
            _Images(paths, self.m.preprocess),
            batch_size=self.batch_size,
            num_workers=self.workers,
            collate_fn=_collate,
        ):
            size += 0 if x is None else x.numel() * x.element_size()
            if kept is not None:
                kept = kept + [(x, ok)] if size <= MEMO_BYTES else None
            yield x, ok
        if kept is not None:
            _remember(memo_key, kept)

    def _encode_images(self, paths: list[Path], memo_key: str) -> np.ndarray:
        rows = []
        with bar(total=len(paths), desc=f"{self.m.label}: images", unit="img") as shown:
            for x, ok in self._batches(paths, memo_key):
                out = np.full((len(ok), self.dim), np.nan, dtype=np.float32)
                if x is not None:
                    out[np.array(ok)] = encode_images(self.m, x)
                rows.append(out)
                shown.update(len(ok))
        return np.concatenate(rows) if rows else np.zeros((0, self.dim), np.float32)

    def _encode_texts(self, texts: list[str], memo_key: str) -> np.ndarray:
        """Tokenised once (remembered for the next model with this tokenizer), then encoded."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        if memo_key not in _memo:
            _remember(memo_key, self.m.tokenizer(texts))
        return encode_texts(self.m, _memo[memo_key], max(self.batch_size, 512), desc=f"{self.m.label}: texts")

    @functools.cached_property
    def dim(self) -> int:
        return embed_dim(self.m)
