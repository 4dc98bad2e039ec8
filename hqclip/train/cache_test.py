import os

from hqclip.data.shards import iter_shard
from hqclip.train import cache
from hqclip.train.conftest import make_dataset


def _uids(path, reads):
    def read():
        reads.append(path)
        return iter_shard(path)

    return [s.uid for s in cache.cached_shard(str(path), read)]


def test_a_shard_rebuilt_at_the_same_path_is_read_again(tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "_shards", {})
    monkeypatch.setattr(cache, "_bytes", 0)
    train, _ = make_dataset(tmp_path / "w", n=16, seed=0)
    shard = sorted(train.glob("*.tar"))[0]
    reads = []
    first = _uids(shard, reads)
    assert _uids(shard, reads) == first and len(reads) == 1  # the second pass comes from memory
    make_dataset(tmp_path / "w", n=16, seed=1)  # another world, same file names
    st = os.stat(shard)
    os.utime(shard, ns=(st.st_atime_ns, st.st_mtime_ns + 1))  # a different mtime even on coarse clocks
    rebuilt = _uids(shard, reads)
    assert len(reads) == 2 and rebuilt != first and rebuilt == [s.uid for s in iter_shard(shard)]
    assert list(cache._shards) == [str(shard)]  # the old samples were dropped, not kept beside the new
    assert cache._bytes == cache._shards[str(shard)][2]
    assert _uids(shard, reads) == rebuilt and len(reads) == 2


def test_two_tokenizers_of_one_kind_keep_their_own_ids():
    class Tok:
        context_length = 4

        def __init__(self, offset):
            self.offset = offset

        def __call__(self, texts):
            import torch

            return torch.tensor([[len(t) + self.offset] * 4 for t in texts])

    a, b = cache.CachedTokenizer(Tok(0)), cache.CachedTokenizer(Tok(100))
    assert a(["ab", "abc", "ab"])[:, 0].tolist() == [2, 3, 2]
    assert b(["ab"])[:, 0].tolist() == [102] and a(["ab"])[:, 0].tolist() == [2]
    assert a.context_length == 4
