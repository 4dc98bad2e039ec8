"""The metrics, on normalised embeddings, defined as CLIP_benchmark defines them (ties go to the
first candidate, as torch's argmax/topk break them); metrics_test.py checks the agreement."""

from __future__ import annotations

import torch


def classifier(text_emb: torch.Tensor) -> torch.Tensor:
    """(classes, templates, D) template embeddings -> (D, classes) normalised class prototypes."""
    proto = torch.nn.functional.normalize(text_emb, dim=-1).mean(dim=1)
    return (proto / proto.norm(dim=-1, keepdim=True)).T


def classification(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    """Top-1, top-5 (None under 5 classes) and mean per-class recall (balanced accuracy) of
    (N, classes) logits."""
    n_cls = logits.shape[1]
    topk = logits.topk(min(5, n_cls), dim=1).indices
    hit = topk == labels[:, None]
    pred = logits.argmax(dim=1)
    recalls = [(pred[labels == c] == c).float().mean().item() for c in labels.unique()]
    return {
        "acc1": hit[:, 0].float().mean().item(),
        "acc5": hit.any(dim=1).float().mean().item() if n_cls >= 5 else None,
        "mean_per_class_recall": sum(recalls) / len(recalls),
        "n": len(labels),
    }


def retrieval(
    image_emb: torch.Tensor, text_emb: torch.Tensor, text_image: torch.Tensor, ks=(1, 5, 10)
) -> dict:
    """Recall@k both ways; an image counts as found when any of its captions is in its top k.
    `text_image[j]` is the index of the image caption j belongs to."""
    scores = text_emb @ image_emb.T  # texts x images
    out = {}
    for k in ks:
        t2i = scores.topk(min(k, scores.shape[1]), dim=1).indices
        out[f"image_retrieval_recall@{k}"] = (t2i == text_image[:, None]).any(dim=1).float().mean().item()
        i2t = scores.T.topk(min(k, scores.shape[0]), dim=1).indices
        owner = text_image[i2t]
        out[f"text_retrieval_recall@{k}"] = (
            (owner == torch.arange(len(image_emb))[:, None]).any(dim=1).float().mean().item()
        )
    out["n_images"], out["n_texts"] = len(image_emb), len(text_emb)
    return out


def choice(image_emb: torch.Tensor, texts: list[torch.Tensor]) -> dict:
    """(N, D) images and N candidate-text tensors (K_i, D), the true one first: image->text accuracy."""
    scores = torch.full((len(texts), max(len(t) for t in texts)), float("-inf"))
    for i, t in enumerate(texts):
        scores[i, : len(t)] = t @ image_emb[i]
    return {"acc": (scores.argmax(dim=1) == 0).float().mean().item(), "n": len(image_emb)}


def group(image_emb: torch.Tensor, text_emb: torch.Tensor) -> dict:
    """Winoground scores on (N, 2, D) images and (N, 2, D) texts, image i matching text i."""
    scores = torch.einsum("nid,ntd->nit", image_emb, text_emb)
    gt = torch.arange(2)
    text = (scores.argmax(dim=2) == gt).all(dim=1)  # each image picks its caption
    image = (scores.argmax(dim=1) == gt).all(dim=1)  # each caption picks its image
    return {
        "text": text.float().mean().item(),
        "image": image.float().mean().item(),
        "group": (text & image).float().mean().item(),
        "n": len(image_emb),
    }
