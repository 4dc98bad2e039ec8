"""The aggregator against open_clip's published table (testdata/README.md) and DataComp's own
group lists, written out here as `aggregate_scores.py` has them."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from hqclip.eval.datacomp.aggregate import aggregate
from hqclip.eval.datacomp.tasks import COUNTED, TASKS

TABLE = Path(__file__).parent / "testdata" / "openclip_results.csv"

SHIFTS = {"ImageNet Sketch", "ImageNet v2", "ImageNet-A", "ImageNet-O", "ImageNet-R", "ObjectNet"}
VTAB = {
    "Caltech-101",
    "CIFAR-100",
    "CLEVR Counts",
    "CLEVR Distance",
    "Describable Textures",
    "EuroSAT",
    "KITTI Vehicle Distance",
    "Oxford Flowers-102",
    "Oxford-IIIT Pet",
    "PatchCamelyon",
    "RESISC45",
    "SVHN",
    "SUN397",
}
RETRIEVAL = {"Flickr", "MSCOCO", "WinoGAViL"}


def rows() -> list[dict]:
    with open(TABLE, newline="") as f:
        return list(csv.DictReader(f))


def scores(row: dict) -> dict[str, float]:
    return {t.name: float(row[t.name]) for t in COUNTED}


def test_task_list_is_datacomps():
    assert len(TASKS) == 40 and len(COUNTED) == 38
    assert len({t.key for t in TASKS}) == 40 and len({t.folder for t in TASKS}) == 40
    assert {t.name for t in TASKS if not t.counted} == {"FairFace", "UTKFace"}
    assert {t.name for t in TASKS if t.group == "ImageNet dist. shifts"} == SHIFTS
    assert {t.name for t in TASKS if t.group == "VTAB"} == VTAB
    assert {t.name for t in TASKS if t.group == "Retrieval"} == RETRIEVAL
    assert [t.name for t in TASKS if t.group == "ImageNet"] == ["ImageNet 1k"]
    # the table's 38 result columns are the counted tasks' display names
    assert set(rows()[0]) - {
        "name",
        "pretrained",
        "params (M)",
        "FLOPs (B)",
        "Average perf. on 38 datasets",
    } == {t.name for t in COUNTED}


def test_average_reproduces_every_published_row():
    table = rows()
    assert len(table) == 121
    for row in table:
        agg = aggregate(scores(row))
        assert agg["complete"] and agg["n_tasks"] == 38
        assert agg["Average"] == pytest.approx(float(row["Average perf. on 38 datasets"]), abs=1e-4), row[
            "name"
        ]


# (name, pretrained) -> Average, ImageNet, ImageNet dist. shifts, VTAB, Retrieval (the note's rows)
REFERENCE = {
    ("ViT-B-32", "openai"): (0.5245, 0.6332, 0.4852, 0.5263, 0.5012),
    ("ViT-B-32", "datacomp_xl_s13b_b90k"): (0.5795, 0.6917, 0.5515, 0.5775, 0.5377),
    ("ViT-B-16", "datacomp_xl_s13b_b90k"): (0.6147, 0.7349, 0.6080, 0.6207, 0.5782),
    ("ViT-B-32", "datacomp_m_s128m_b4k"): (0.3281, 0.2972, 0.2387, 0.3457, 0.2312),
}


@pytest.mark.parametrize("model", sorted(REFERENCE))
def test_sub_aggregates_of_reference_rows(model):
    row = next(r for r in rows() if (r["name"], r["pretrained"]) == model)
    agg = aggregate(scores(row))
    got = (agg["Average"], agg["ImageNet"], agg["ImageNet dist. shifts"], agg["VTAB"], agg["Retrieval"])
    assert got == pytest.approx(REFERENCE[model], abs=1e-4)


def test_partial_run_is_marked():
    agg = aggregate({"ImageNet 1k": 0.5, "CIFAR-10": 0.7, "FairFace": None})
    assert not agg["complete"] and agg["n_tasks"] == 2
    assert agg["Average"] == pytest.approx(0.6) and agg["ImageNet"] == 0.5 and agg["VTAB"] is None
