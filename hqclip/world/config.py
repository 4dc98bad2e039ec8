"""The world's vocabulary and knobs, and which colour–shape compositions are held out of training."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

SHAPES = ("circle", "square", "triangle", "diamond", "star", "cross")
COLORS = {
    "red": (215, 40, 40),
    "green": (40, 160, 60),
    "blue": (40, 80, 215),
    "yellow": (230, 200, 30),
    "purple": (135, 55, 175),
    "orange": (245, 135, 25),
}
SIZES = {"small": 0.5, "large": 0.9}  # fraction of a grid cell
GRID = 3
POSITIONS = {  # (row, col) -> words
    (0, 0): "top left",
    (0, 1): "top",
    (0, 2): "top right",
    (1, 0): "left",
    (1, 1): "center",
    (1, 2): "right",
    (2, 0): "bottom left",
    (2, 1): "bottom",
    (2, 2): "bottom right",
}
RELATIONS = ("left of", "right of", "above", "below")
BACKGROUNDS = ((250, 250, 250), (228, 228, 228), (245, 238, 220), (222, 232, 240))


def heldout_pairs() -> list[tuple[str, str]]:
    """One held-out shape per colour, each shape held out once (a Latin diagonal shifted by two),
    so every colour and every shape is still seen in training, just never together."""
    colors = list(COLORS)
    return [(c, SHAPES[(i + 2) % len(SHAPES)]) for i, c in enumerate(colors)]


@dataclass(frozen=True)
class AltTextNoise:
    """Knobs for the web-like alt-text. Defaults read like scraped alt-text: partial, sometimes
    wrong, padded with irrelevant words (stock-photo words, file names, site names), sometimes
    empty. Each field's help is the `hqclip world` option's."""

    mention_rate: float = field(default=0.5, metadata={"help": "alt-text: chance each object is named"})
    wrong_attr_rate: float = field(default=0.2, metadata={"help": "alt-text: chance a named object is wrong"})
    irrelevant_rate: float = field(default=0.6, metadata={"help": "alt-text: chance of stock-site filler"})
    empty_rate: float = field(default=0.1, metadata={"help": "alt-text: chance of no alt-text"})


@dataclass(frozen=True)
class WorldConfig:
    seed: int = field(default=0, metadata={"help": "world seed: same seed, same world"})
    image_size: int = field(default=64, metadata={"help": "rendered image side in pixels"})
    train_samples: int = field(default=20_000, metadata={"help": "training samples"})
    shard_size: int = field(default=2_000, metadata={"help": "samples per train shard"})
    max_objects: int = 4
    # eval split sizes: each claim family's metric has a binomial standard error of at most one
    # point (zero-shot 2,520 images; retrieval 2,500; the mean of five 500-pair SugarCrepe subsets)
    zeroshot_per_class: int = 70
    retrieval_samples: int = 2_500
    sugarcrepe_per_subset: int = 500
    winoground_samples: int = 100
    alt_text: AltTextNoise = field(default_factory=AltTextNoise)

    def as_dict(self) -> dict:
        return asdict(self)

    def with_eval_scale(self, scale: float) -> WorldConfig:
        """Every eval split's size × `scale` (at least one item each)."""
        return replace(
            self,
            **{
                k: max(1, round(getattr(self, k) * scale))
                for k in (
                    "zeroshot_per_class",
                    "retrieval_samples",
                    "sugarcrepe_per_subset",
                    "winoground_samples",
                )
            },
        )
