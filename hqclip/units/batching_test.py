from hqclip.data.samples import BadSample, Sample
from hqclip.units.batching import map_unit


def sample(i: int) -> Sample:
    return Sample(
        key=str(i),
        uid=f"{i:032x}",
        text="bad" if i % 3 == 0 else "ok",
        image_bytes=b"",
        ext="png",
        meta={},
        source="t",
    )


def test_one_row_per_sample_in_reader_order_batched_and_counted():
    batches, seen = [], []

    def prepare(s):
        if s.text == "bad":
            raise BadSample("undecodable")
        return int(s.key)

    def run_batch(xs):
        batches.append(xs)
        return [{"i": x, "status": "ok" if x % 2 else "invalid"} for x in xs]

    rows = map_unit(
        map(sample, range(10)),
        prepare,
        run_batch,
        lambda s, e: {"i": int(s.key), "status": f"input:{e.reason}"},
        3,
        lambda n, ok: seen.append((n, ok)),
    )
    assert [r["i"] for r in rows] == list(range(10))
    assert [r["status"] for r in rows if r["i"] % 3 == 0] == ["input:undecodable"] * 4
    assert batches == [[1, 2, 4], [5, 7, 8]]
    assert sum(n for n, _ in seen) == 10 and sum(ok for _, ok in seen) == 3  # 1, 5, 7
