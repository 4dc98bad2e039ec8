import torch

from hqclip.clip.configs import create
from hqclip.clip.text import encode_text, trimmable


def test_trimmed_forward_equals_encode_text():
    torch.manual_seed(0)
    clip, _, _, tok = create("hqclip-micro")
    assert trimmable(clip)
    text = tok(["red circle", "", "the small blue square is left of the large green circle " * 3])
    want = clip.encode_text(text, normalize=True)
    got = encode_text(clip, text)
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.allclose(encode_text(clip, text[:1]), want[:1], atol=1e-6)  # trimmed to 4 tokens
