"""DataComp's 40 evaluation tasks as data (datacomp `tasklist.yml` and `eval_utils/main.py`): which
reader and scorer each one takes, its main metric, the aggregate group it feeds, and where it lives
on disk and on the Hugging Face hub. FairFace and UTKFace have no main metric: they are evaluated
and reported, and stay out of the 38-task average, as in DataComp."""

from __future__ import annotations

from dataclasses import dataclass

# the `kind`s: how a task is read and scored
CLASSIFICATION = "classification"  # zero-shot classification over a wds folder
RETRIEVAL = "retrieval"  # image-text retrieval, Hugging Face set, five captions per image
WINOGAVIL = "winogavil"  # cue -> pick the associated images among 5-12 candidates
IWILDCAM, CAMELYON17, FMOW = "iwildcam", "camelyon17", "fmow"  # WILDS: wds + npy metadata
DOLLAR_STREET, GEODE = "dollar_street", "geode"  # fairness: wds + npy metadata, worst group
FACE = "face"  # FairFace / UTKFace: four heads (age, gender, race, toxic), no main metric

IMAGENET, SHIFTS, VTAB, RETRIEVAL_GROUP = "ImageNet", "ImageNet dist. shifts", "VTAB", "Retrieval"
GROUPS = (IMAGENET, SHIFTS, VTAB, RETRIEVAL_GROUP)


@dataclass(frozen=True)
class Task:
    key: str  # tasklist key, the `key` of an eval_results.jsonl line
    name: str  # display name: the `dataset` of a line, open_clip's CSV column
    kind: str
    metric: str | None  # main metric; None: reported, not in the average
    group: str | None  # the aggregate besides the average it counts in
    folder: str  # under --data-dir
    repo: str  # Hugging Face dataset repository it is fetched from

    @property
    def counted(self) -> bool:
        return self.metric is not None

    @property
    def wds(self) -> bool:
        return self.kind not in (RETRIEVAL, WINOGAVIL)


def _wds(key: str, name: str, metric: str | None = "acc1", group: str | None = None, kind=CLASSIFICATION):
    folder = f"wds_{key.removeprefix('fairness/').replace('/', '-')}_test"
    return Task(key, name, kind, metric, group, folder, f"djghosh/{folder}")


def _hf(key: str, name: str, kind: str, metric: str) -> Task:
    repo = key.split("/", 1)[1] if key.startswith("retrieval/") else key.removeprefix("misc/")
    return Task(key, name, kind, metric, RETRIEVAL_GROUP, repo, f"nlphuji/{repo}")


MPCR = "mean_per_class_recall"
TASKS: tuple[Task, ...] = (
    _wds("vtab/caltech101", "Caltech-101", MPCR, VTAB),
    _wds("cifar10", "CIFAR-10"),
    _wds("vtab/cifar100", "CIFAR-100", group=VTAB),
    _wds("vtab/clevr_count_all", "CLEVR Counts", group=VTAB),
    _wds("vtab/clevr_closest_object_distance", "CLEVR Distance", group=VTAB),
    _wds("country211", "Country211"),
    _wds("vtab/dtd", "Describable Textures", group=VTAB),
    _wds("vtab/eurosat", "EuroSAT", group=VTAB),
    _wds("fgvc_aircraft", "FGVC Aircraft", MPCR),
    _wds("food101", "Food-101"),
    _wds("gtsrb", "GTSRB"),
    _wds("imagenet1k", "ImageNet 1k", group=IMAGENET),
    _wds("imagenet_sketch", "ImageNet Sketch", group=SHIFTS),
    _wds("imagenetv2", "ImageNet v2", group=SHIFTS),
    _wds("imagenet-a", "ImageNet-A", group=SHIFTS),
    _wds("imagenet-o", "ImageNet-O", group=SHIFTS),
    _wds("imagenet-r", "ImageNet-R", group=SHIFTS),
    _wds("vtab/kitti_closest_vehicle_distance", "KITTI Vehicle Distance", group=VTAB),
    _wds("mnist", "MNIST"),
    _wds("objectnet", "ObjectNet", group=SHIFTS),
    _wds("vtab/flowers", "Oxford Flowers-102", MPCR, VTAB),
    _wds("vtab/pets", "Oxford-IIIT Pet", MPCR, VTAB),
    _wds("voc2007", "Pascal VOC 2007"),
    _wds("vtab/pcam", "PatchCamelyon", group=VTAB),
    _wds("renderedsst2", "Rendered SST2"),
    _wds("vtab/resisc45", "RESISC45", group=VTAB),
    _wds("cars", "Stanford Cars"),
    _wds("stl10", "STL-10"),
    _wds("sun397", "SUN397", group=VTAB),
    _wds("vtab/svhn", "SVHN", group=VTAB),
    _hf("retrieval/flickr_1k_test_image_text_retrieval", "Flickr", RETRIEVAL, "mean_recall@1"),
    _hf("retrieval/mscoco_2014_5k_test_image_text_retrieval", "MSCOCO", RETRIEVAL, "mean_recall@1"),
    _hf("misc/winogavil", "WinoGAViL", WINOGAVIL, "jaccard_score_10-12"),
    _wds("wilds/iwildcam", "iWildCam", "F1-macro_all", kind=IWILDCAM),
    _wds("wilds/camelyon17", "Camelyon17", kind=CAMELYON17),
    _wds("wilds/fmow", "FMoW", "acc_worst_region", kind=FMOW),
    _wds("fairness/dollar_street", "Dollar Street", "acc_top5_wg", kind=DOLLAR_STREET),
    _wds("fairness/geode", "GeoDE", "acc_wg", kind=GEODE),
    _wds("fairness/fairface", "FairFace", None, kind=FACE),
    _wds("fairness/utkface", "UTKFace", None, kind=FACE),
)
BY_KEY = {t.key: t for t in TASKS}
COUNTED = tuple(t for t in TASKS if t.counted)


def select(keys: list[str] | None) -> list[Task]:
    """The tasks named (tasklist keys or display names, in suite order), or all 40."""
    from hqclip.errors import UserError

    if not keys:
        return list(TASKS)
    known = {**BY_KEY, **{t.name: t for t in TASKS}}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise UserError(
            f"unknown DataComp task {unknown[0]!r}; choose tasklist keys such as "
            f"imagenet1k, vtab/cifar100, retrieval/flickr_1k_test_image_text_retrieval (all: {len(TASKS)})"
        )
    wanted = {known[k].key for k in keys}
    return [t for t in TASKS if t.key in wanted]
