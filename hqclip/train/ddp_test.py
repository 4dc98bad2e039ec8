"""A 2-process gloo DDP step (HNI and STC on, both heads) gives the loss and gradients of one process
on the same global batch: the real module, loss and collate, on the micro model."""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from hqclip.data.shards import iter_shards, list_shards
from hqclip.train.annotations import build_vocab, load_index
from hqclip.data.samples import SkipLog
from hqclip.train.batch import TextSpec, collate
from hqclip.train.loss import HQCLIPLoss
from hqclip.train.models import create
from hqclip.train.module import HQCLIPModule

B = 8


def _step(train_dir, sidecar_dir, head, rank, world):
    """Loss (mean over ranks) and {param: grad} for one step on this rank's half of the batch."""
    shards = list_shards(train_dir)
    index = load_index(shards, sidecar_dir, SkipLog())
    vocab = {t: i for i, t in enumerate(build_vocab(index, 16))} if head == "linear" else None
    torch.manual_seed(0)
    clip, transform, _, tok = create("hqclip-micro")
    module = HQCLIPModule(clip, head, 64, len(vocab or {}))
    samples = [s for _, s in zip(range(B), iter_shards(shards))]
    h = B // world
    batch = collate(samples[rank * h:(rank + 1) * h], index,
                    TextSpec({"alt": 0.3, "desc": 0.7}, 1, 2, True, head == "text"),
                    transform, tok, vocab, seed=0, epoch=0)
    batch.pop("counts"), batch.pop("uids")
    model = torch.nn.parallel.DistributedDataParallel(module) if world > 1 else module
    loss = HQCLIPLoss(1.0, 1.0, head, local_loss=True, gather_with_grad=True, rank=rank, world_size=world)
    out = loss(**model(batch))["loss"]
    out.backward()
    val = out.detach().clone()
    if world > 1:
        torch.distributed.all_reduce(val)
        val /= world
    return float(val), {n: p.grad.numpy().copy() for n, p in module.named_parameters() if p.grad is not None}


def _worker(rank, port, train_dir, sidecar_dir, q):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    torch.distributed.init_process_group("gloo", rank=rank, world_size=2)
    res = {head: _step(train_dir, sidecar_dir, head, rank, 2) for head in ("text", "linear")}
    q.put((rank, res) if rank == 0 else (rank, None))
    torch.distributed.destroy_process_group()


def test_two_process_ddp_step_matches_one_process(dataset):
    train_dir, sidecar_dir = map(str, dataset)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(r, port, train_dir, sidecar_dir, q)) for r in range(2)]
    for p in procs:
        p.start()
    got = dict(q.get(timeout=120) for _ in procs)[0]
    for p in procs:
        p.join(timeout=30)
    for head in ("text", "linear"):
        loss, grads = _step(train_dir, sidecar_dir, head, 0, 1)
        dloss, dgrads = got[head]
        assert dloss == pytest.approx(loss, rel=1e-5), head
        assert set(dgrads) == set(grads)
        assert any(n.startswith("stc_") for n in grads)
        for n, g in grads.items():  # fp32 sums in another order: compare against the tensor's scale
            d, g = torch.from_numpy(dgrads[n]), torch.from_numpy(g)
            assert (d - g).abs().max() <= 1e-5 * g.abs().max() + 1e-6, (head, n)
