"""The contrastive term is open_clip's ClipLoss; HNI/STC behave as documented; one process and two
processes (gloo, local loss + gather with grad) agree."""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp
import torch.nn.functional as F
from open_clip.loss import ClipLoss

from hqclip.train.loss import HQCLIPLoss

B, D, T = 8, 16, 6


def _features(seed=0):
    g = torch.Generator().manual_seed(seed)
    img = F.normalize(torch.randn(B, D, generator=g), dim=-1)
    txt = F.normalize(torch.randn(B, D, generator=g), dim=-1)
    neg = F.normalize(torch.randn(B, D, generator=g), dim=-1)
    tags = F.normalize(torch.randn(B * T, D, generator=g), dim=-1)
    mask = torch.rand(B, generator=g) > 0.3
    return img, txt, neg, mask, tags


def _extras(neg, mask, tags, lo, hi):
    owner = torch.arange(B).repeat_interleave(T)
    label = torch.tensor([1.0, 0.0] * (B * T // 2))
    sel = (owner >= lo) & (owner < hi)
    return dict(
        neg_features=neg[lo:hi],
        neg_mask=mask[lo:hi],
        tag_features=tags[sel],
        tag_owner=owner[sel] - lo,
        tag_label=label[sel],
        stc_scale=torch.tensor(2.0),
        stc_bias=torch.tensor(-0.5),
    )


def test_equals_cliploss_when_weights_are_zero():
    img, txt, neg, mask, tags = _features()
    scale = torch.tensor(14.3)
    ours = HQCLIPLoss()(img, txt, scale)["loss"]
    assert torch.allclose(ours, ClipLoss()(img, txt, scale), atol=1e-6)
    ours = HQCLIPLoss(0.0, 0.0)(img, txt, scale, **_extras(neg, mask, tags, 0, B))["loss"]
    assert torch.allclose(ours, ClipLoss()(img, txt, scale), atol=1e-6)


def test_hni_masks_missing_negatives_and_stc_uses_own_tags():
    img, txt, neg, mask, tags = _features()
    scale = torch.tensor(10.0)
    out = HQCLIPLoss(1.0, 1.0)(img, txt, scale, **_extras(neg, mask, tags, 0, B))
    logits = torch.cat([scale * img @ txt.T, scale * img @ neg[mask].T], dim=1)
    assert torch.allclose(out["hni"], F.cross_entropy(logits, torch.arange(B)), atol=1e-6)
    owner = torch.arange(B).repeat_interleave(T)
    s = torch.tensor(2.0).exp() * (img[owner] * tags).sum(-1) - 0.5
    want = F.binary_cross_entropy_with_logits(s, torch.tensor([1.0, 0.0] * (B * T // 2)))
    assert torch.allclose(out["stc"], want, atol=1e-6)
    assert torch.allclose(out["loss"], out["contrastive"] + out["hni"] + out["stc"])


def _grad(x):
    return x.grad if x.grad is not None else torch.zeros_like(x)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank, port, q):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.distributed.init_process_group("gloo", rank=rank, world_size=2)
    img, txt, neg, mask, tags = _features()
    h = B // 2
    lo, hi = rank * h, (rank + 1) * h
    res = {}
    for name, loss in (
        ("clip", ClipLoss(local_loss=True, gather_with_grad=True, rank=rank, world_size=2)),
        ("hq0", HQCLIPLoss(local_loss=True, gather_with_grad=True, rank=rank, world_size=2)),
        ("hq", HQCLIPLoss(1.0, 0.5, local_loss=True, gather_with_grad=True, rank=rank, world_size=2)),
    ):
        i, t, n = (x[lo:hi].clone().requires_grad_() for x in (img, txt, neg))
        ex = _extras(neg, mask, tags, lo, hi) if name != "clip" else {}
        if ex:
            ex["neg_features"] = n
        val = loss(i, t, torch.tensor(10.0), **ex)
        val = val["loss"] if isinstance(val, dict) else val
        val.backward()
        v = val.detach().clone()
        torch.distributed.all_reduce(v)
        # DDP averages gradients over ranks; do the same for the feature grads of this rank's rows
        res[name] = (float(v) / 2, *((_grad(x) / 2).numpy() for x in (i, t, n)))  # by value, not shm
    q.put((rank, res))
    torch.distributed.destroy_process_group()


def test_two_processes_match_one():
    img, txt, neg, mask, tags = _features()
    want = {}
    for name, loss in (("clip", ClipLoss()), ("hq0", HQCLIPLoss()), ("hq", HQCLIPLoss(1.0, 0.5))):
        i, t, n = (x.clone().requires_grad_() for x in (img, txt, neg))
        ex = _extras(neg, mask, tags, 0, B) if name != "clip" else {}
        if ex:
            ex["neg_features"] = n
        val = loss(i, t, torch.tensor(10.0), **ex)
        val = val["loss"] if isinstance(val, dict) else val
        val.backward()
        want[name] = (float(val.detach()), *(_grad(x) for x in (i, t, n)))
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    port = _free_port()
    procs = [ctx.Process(target=_worker, args=(r, port, q)) for r in range(2)]
    for p in procs:
        p.start()
    got = dict(q.get(timeout=60) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    for name, (loss, gi, gt, gn) in want.items():
        h = B // 2
        for rank in range(2):
            r = got[rank][name]
            assert r[0] == pytest.approx(loss, abs=1e-5), name
            r = (r[0], *map(torch.from_numpy, r[1:]))
            assert torch.allclose(r[1], gi[rank * h : (rank + 1) * h], atol=1e-6), name
            assert torch.allclose(r[2], gt[rank * h : (rank + 1) * h], atol=1e-6), name
            assert torch.allclose(r[3], gn[rank * h : (rank + 1) * h], atol=1e-6), name
    assert want["hq0"][0] == pytest.approx(want["clip"][0], abs=1e-6)


def test_logits_stay_fp32_under_bf16_autocast():
    """Under autocast the matmuls of the logits would run in bf16 (0.5 apart at |logit| 64-100): the
    feature gradients must be those of fp32, not a few percent off."""
    g = torch.Generator().manual_seed(0)
    n, d = 64, 32
    img = F.normalize(torch.randn(n, d, generator=g), dim=-1)
    txt = F.normalize(img + 1.5 * torch.randn(n, d, generator=g) / d**0.5, dim=-1)
    neg = F.normalize(txt + 0.3 * torch.randn(n, d, generator=g) / d**0.5, dim=-1)
    grads = []
    for autocast in (False, True):
        i, t, ng = (x.clone().requires_grad_() for x in (img, txt, neg))
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast):
            out = HQCLIPLoss(1.0)(
                i, t, torch.tensor(100.0), neg_features=ng, neg_mask=torch.ones(n, dtype=bool)
            )
        out["loss"].backward()
        grads.append([x.grad for x in (i, t, ng)])
    for want, got in zip(*grads):
        assert (got - want).norm() <= 1e-5 * want.norm()
