"""A 2-process gloo DDP step (HNI and STC on, both heads, with and without --local-loss) gives the
loss and gradients of one process on the same global batch: the real module, loss and collate, on
the micro model. (--no-gather-with-grad, wrong with several processes, is refused: preflight.)"""

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from hqclip.clip.configs import create
from hqclip.data.samples import SkipLog
from hqclip.data.shards import iter_shards, list_shards
from hqclip.data.sidecar import read_annotations, sidecar_path
from hqclip.data.vocab import read_vocab
from hqclip.train.batch import TextSpec, collate
from hqclip.train.loss import HQCLIPLoss
from hqclip.train.module import HQCLIPModule

B = 8


CASES = [(head, local) for head in ("text", "linear") for local in (True, False)]


def _step(train_dir, sidecar_dir, head, local, rank, world):
    """Loss (mean over ranks) and {param: grad} for one step on this rank's half of the batch."""
    shards = list_shards(train_dir)
    vocab = {t: i for i, t in enumerate(read_vocab(sidecar_dir, 16))} if head == "linear" else None
    torch.manual_seed(0)
    clip, transform, _, tok = create("hqclip-micro")
    module = HQCLIPModule(clip, head, 64, len(vocab or {}))
    samples = [s for _, s in zip(range(B), iter_shards(shards))]
    records = read_annotations(sidecar_path(shards[0], sidecar_dir), SkipLog())  # B <= 16 per shard
    h = B // world
    mine = samples[rank * h : (rank + 1) * h]
    batch = collate(
        mine,
        [records.get(s.uid) for s in mine],
        TextSpec({"alt": 0.3, "desc": 0.7}, 1, 2, True, head == "text"),
        transform,
        tok,
        vocab,
        seed=0,
        epoch=0,
    )
    batch.pop("counts"), batch.pop("uids")
    model = torch.nn.parallel.DistributedDataParallel(module) if world > 1 else module
    loss = HQCLIPLoss(1.0, 1.0, head, local_loss=local, gather_with_grad=True, rank=rank, world_size=world)
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
    res = {case: _step(train_dir, sidecar_dir, *case, rank, 2) for case in CASES}
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
    for case in CASES:
        loss, grads = _step(train_dir, sidecar_dir, *case, 0, 1)
        dloss, dgrads = got[case]
        assert dloss == pytest.approx(loss, rel=1e-5), case
        assert set(dgrads) == set(grads)
        assert any(n.startswith("stc_") for n in grads)
        for n, g in grads.items():  # fp32 sums in another order: compare against the tensor's scale
            d, g = torch.from_numpy(dgrads[n]), torch.from_numpy(g)
            assert (d - g).abs().max() <= 1e-5 * g.abs().max() + 1e-6, (case, n)


def _train(rank, port, cfgs):
    from hqclip.train import run

    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank)
    )
    torch.set_num_threads(1)
    run(cfgs[rank])  # ends the process group


def _two_ranks(cfg, cfg1=None):
    """`cfg` on two gloo ranks (rank 1 runs `cfg1` when given)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfgs = (cfg, cfg1 or cfg)
    mp.start_processes(_train, args=(port, cfgs), nprocs=2, start_method="fork")  # no re-import


def _config(dataset, out, **kw):
    from hqclip.train import TrainConfig

    train_dir, sidecars = map(str, dataset)
    base = dict(model="hqclip-micro", shuffle_buffer=8, warmup=1, progress=False, device="cpu")
    return TrainConfig(train_dir, str(out), sidecars, **{**base, **kw})


@pytest.mark.slow
def test_two_process_run_resumes_mid_epoch_to_the_same_losses(dataset, tmp_path):
    """Two gloo ranks with 2 loader workers each: stopped after step 3 of an 8-step epoch and
    resumed from the checkpoint (each rank's reader positions), the losses equal a straight run."""
    import json

    kw = dict(batch_size=4, workers=2, log_every=1, save_every=1000, steps=6)
    _two_ranks(_config(dataset, tmp_path / "full", **kw))
    _two_ranks(_config(dataset, tmp_path / "cut", stop_after=3, **kw))
    _two_ranks(_config(dataset, tmp_path / "cut", resume="latest", **kw))
    rows = {
        k: [json.loads(x) for x in (tmp_path / k / "metrics.jsonl").read_text().splitlines()]
        for k in ("full", "cut")
    }
    assert [r["step"] for r in rows["cut"]] == list(range(1, 7))
    for a, b in zip(rows["full"], rows["cut"]):
        assert a["loss"] == b["loss"] and a["hni"] == b["hni"] and a["stc"] == b["stc"], a["step"]


@pytest.mark.slow
def test_a_checkpoint_of_two_ranks_resumes_only_under_its_global_batch_and_on_every_rank(dataset, tmp_path):
    """Saved by 2 ranks × batch 4 at the end of an epoch: one process with batch 4 (another global
    batch, so other epochs) is refused in one line, one process with batch 8 resumes; ranks that see
    different checkpoints (an --output that is not shared) are refused on every rank."""
    from hqclip.errors import UserError
    from hqclip.train import run

    out = tmp_path / "run"
    kw = dict(workers=0, train_num_samples=16)
    _two_ranks(_config(dataset, out, batch_size=4, steps=2, **kw))  # 2 steps: one epoch
    with pytest.raises(UserError, match="global batch of 8 .* now 4 and 4"):
        run(_config(dataset, out, batch_size=4, steps=4, resume="latest", **kw))
    assert run(_config(dataset, out, batch_size=8, steps=3, resume="latest", **kw))["steps"] == 3
    again = _config(dataset, out, batch_size=4, steps=4, resume="latest", **kw)
    empty = _config(dataset, tmp_path / "elsewhere", batch_size=4, steps=4, resume="latest", **kw)
    with pytest.raises(mp.ProcessRaisedException, match="ranks see different checkpoints"):
        _two_ranks(again, empty)
