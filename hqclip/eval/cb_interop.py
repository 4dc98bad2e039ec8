"""Run CLIP_benchmark's own datasets with CLIP_benchmark's own readers and evaluators, so their
numbers sit in the same report. Named datasets (cifar10, mscoco_captions, sugar_crepe/swap_att,
...) are downloaded by CLIP_benchmark, so they need internet the first time; `wds/NAME` reads a
local WebDataset folder in CLIP_benchmark's layout (test/nshards.txt, test/0.tar, classnames.txt,
zeroshot_classification_templates.txt, dataset_type.txt)."""

from __future__ import annotations

import contextlib
import logging
import os

from hqclip.clip.load import Loaded, device_of
from hqclip.errors import UserError
from hqclip.eval import metrics

log = logging.getLogger("hqclip.eval")


def _task(name: str, root: str) -> str:
    from clip_benchmark.datasets.builder import get_dataset_default_task

    if name.startswith("wds/"):
        try:
            with open(os.path.join(root, "dataset_type.txt")) as f:
                return (
                    "zeroshot_retrieval"
                    if f.read().strip().lower() == "retrieval"
                    else "zeroshot_classification"
                )
        except FileNotFoundError:
            return "zeroshot_classification"
    return get_dataset_default_task(name)


def current_device(device):
    """A context that makes `device` CUDA's current device (nothing on CPU): CLIP_benchmark takes a
    bare device type ("cuda") and moves its data with `.to("cuda")`, which lands on the current one;
    without it a model on cuda:1 would meet its data on cuda:0."""
    import torch

    return torch.cuda.device(device) if device.type == "cuda" else contextlib.nullcontext()


def run_clip_benchmark(m: Loaded, datasets, root: str, batch_size: int = 64, workers: int = 0) -> dict:
    """{dataset: {"task", metrics...}}. `root` may use {dataset} and {dataset_cleaned} like
    CLIP_benchmark's --dataset_root."""
    try:
        import torch
        from clip_benchmark.datasets.builder import (
            build_dataset,
            image_captions_collate_fn,
        )
        from clip_benchmark.metrics import (
            image_caption_selection,
            zeroshot_classification,
            zeroshot_retrieval,
        )
    except ImportError as e:
        raise UserError("--clip-benchmark needs the optional extra: pip install 'hqclip[bench]'") from e
    device = device_of(m.model).type
    out = {}
    with current_device(device_of(m.model)):
        for name in datasets:
            short = name.split("/", 1)[1] if name.startswith("wds/") else name
            ds_root = root.format(dataset=short, dataset_cleaned=short.replace("/", "-"))
            task = _task(name, ds_root)
            log.info("%s: CLIP_benchmark %s (%s) from %s", m.label, name, task, ds_root)
            ds = build_dataset(
                name, root=ds_root, transform=m.preprocess, split="test", download=True, task=task
            )
            collate = None if task == "zeroshot_classification" else image_captions_collate_fn
            loader = torch.utils.data.DataLoader(
                ds, batch_size=batch_size, num_workers=workers, collate_fn=collate
            )
            if task == "zeroshot_classification":
                # CLIP_benchmark's classifier and logits; its accuracy() breaks on NumPy >= 2.4 (float()
                # of a 1-element array), so the metrics are ours, defined identically (metrics_test.py)
                protos = zeroshot_classification.zero_shot_classifier(
                    m.model, m.tokenizer, ds.classes, ds.templates, device, amp=False
                )
                logits, target = zeroshot_classification.run_classification(
                    m.model, protos, loader, device, amp=False
                )
                res = metrics.classification(logits, target)
            elif task == "zeroshot_retrieval":
                res = zeroshot_retrieval.evaluate(
                    m.model, loader, m.tokenizer, device=device, amp=False, recall_k_list=[1, 5, 10]
                )
            else:
                res = image_caption_selection.evaluate(m.model, loader, m.tokenizer, device=device, amp=False)
            out[name] = {"task": task, **{k: (None if v != v else v) for k, v in res.items()}}
    return out
