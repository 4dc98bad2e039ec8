"""The split transform (uint8 from the worker, normalised in the step) gives the tensor of the
whole transform, bit for bit, for open_clip's train and eval transforms."""

import numpy as np
import open_clip
import torch
from PIL import Image

from hqclip.train.images import TrainImages


def _images(n=3, px=256):
    rng = np.random.default_rng(0)
    return [Image.fromarray(rng.integers(0, 256, (px, px + 40 * i, 3), dtype=np.uint8)) for i in range(n)]


def test_uint8_then_normalise_equals_the_whole_transform():
    for transform in (open_clip.image_transform(224, is_train=True), open_clip.image_transform(64, False)):
        split = TrainImages(transform)
        want, got = [], []
        for img in _images():
            torch.manual_seed(1)  # the random crop draws the same box for both
            want.append(transform(img))
            torch.manual_seed(1)
            got.append(split(img))
        assert all(x.dtype == torch.uint8 for x in got)
        assert torch.equal(split.normalize(torch.stack(got)), torch.stack(want))


def test_a_transform_of_another_shape_stays_whole():
    def transform(img):
        return torch.ones(3, 4, 4)

    split = TrainImages(transform)
    x = torch.stack([split(None)])
    assert split.normalize(x) is x
