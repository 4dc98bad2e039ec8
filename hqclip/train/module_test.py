"""What the step prepares on the CPU (negatives' indices, trimmed text lengths) gives the forward it
would compute itself; a batch without tags skips the text STC head's tower call."""

import torch

from hqclip.clip.configs import create
from hqclip.data.samples import SkipLog
from hqclip.data.shards import iter_shards, list_shards
from hqclip.data.sidecar import read_annotations, sidecar_path
from hqclip.train.batch import TextSpec, collate
from hqclip.train.loss import HQCLIPLoss
from hqclip.train.module import HQCLIPModule


def _batch(dataset, annotated=True):
    train_dir, sidecars = dataset
    shards = list_shards(train_dir)
    torch.manual_seed(0)
    clip, transform, _, tok = create("hqclip-micro")
    samples = [s for _, s in zip(range(8), iter_shards(shards))]
    records = read_annotations(sidecar_path(shards[0], sidecars), SkipLog()) if annotated else {}
    spec = TextSpec({"alt": 0.3, "desc": 0.7}, 1, 2, True, True)
    batch = collate(samples, [records.get(s.uid) for s in samples], spec, transform, tok, None, 0, 0)
    batch.pop("counts"), batch.pop("uids")
    return HQCLIPModule(clip, "text", 64), batch


def test_a_prepared_batch_gives_the_same_forward(dataset):
    module, batch = _batch(dataset)
    prepared = module.prepare(batch)
    assert prepared["text_len"] < batch["text"].shape[1] and prepared["tag_len"] < prepared["text_len"]
    assert torch.equal(prepared["neg_idx"], batch["neg_mask"].nonzero().squeeze(1))
    a, b = module(batch), module(prepared)
    for k in ("image_features", "text_features", "neg_features", "tag_features"):
        assert torch.equal(a[k], b[k]), k


def test_a_batch_without_tags_skips_the_tag_call_and_still_trains(dataset):
    module, batch = _batch(dataset, annotated=False)
    assert batch["tag_text"].shape[0] == 0
    rows = []
    module.clip.transformer.register_forward_hook(
        lambda m, args, kw, out: rows.append(len(out)), with_kwargs=True
    )
    out = module(batch)
    assert out["tag_features"].shape == (0, 64) and rows == [8]  # the positives' call only
    HQCLIPLoss(1.0, 1.0, "text")(**out)["loss"].backward()
    assert module.stc_logit_scale.grad is not None
