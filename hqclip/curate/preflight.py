"""What `hqclip score`, `filter` and `report` check before any work, so that a user mistake ends in
one line that names the file and says what to do (`UserError`, exit 2) instead of a traceback or a
pass over the data that means nothing. Checked: a missing folder; a folder with no sidecars, or
files in it that are not sidecars; sidecars made from other shards than --input; a --output that
holds files that are not ours (a refine sidecar, img2dataset's parquet); a model that does not
load; a --scores folder that is not one (refine sidecars passed as scores), lacks the scores of a
sidecar, or holds scores of another dataset (uids or list lengths the sidecars do not have). Each
check reads at most one shard and one sidecar; the per-shard jobs check their own pair again."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from hqclip.curate.score_format import SCORE_FIELDS, is_scores, read_scores
from hqclip.data.inputs import iter_unit
from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import is_sidecar, list_sidecars, read_annotations, sidecar_path
from hqclip.errors import UserError


def folder(path: str | Path, flag: str, hint: str) -> Path:
    p = Path(path)
    if not p.is_dir():
        raise UserError(f"{flag} {p}: no such folder; {hint}")
    return p


def sidecars(path: str | Path, flag: str = "--sidecars") -> list[Path]:
    """The refine sidecars of a folder; refused when there are none or one is something else."""
    root = folder(path, flag, "pass the --output folder of `hqclip refine` or `hqclip import-vlm150m`")
    files = list_sidecars(root)
    if not files:
        raise UserError(
            f"{flag} {root}: no .parquet sidecar in it; pass the --output folder of "
            f"`hqclip refine` or `hqclip import-vlm150m`"
        )
    bad = next((f for f in files if not is_sidecar(f)), None)
    if bad is not None:
        what = "a score sidecar" if is_scores(bad) else "not an hqclip sidecar"
        raise UserError(
            f"{bad} is {what} (no status/desc/neg_desc/tags/neg_tags columns); pass the "
            f"--output folder of `hqclip refine` as {flag}"
        )
    return files


def output(out: Path, first: Path, inputs: list[Path], is_ours) -> None:
    """`out` must not be one of the input folders, nor hold a file under an output name that a
    run would overwrite unless it is one of ours (`is_ours(path)`)."""
    resolved = out.resolve()
    if any(resolved == p.resolve() for p in inputs):
        raise UserError(
            f"--output {out} is also an input folder; its files would be overwritten: choose another --output"
        )
    path = sidecar_path(first, out)
    if path.exists() and not is_ours(path):
        raise UserError(
            f"{path} exists and is not an output of this command (e.g. a refine sidecar "
            f"or img2dataset's metadata); it would be overwritten: choose another --output"
        )


def overlap(unit: Path, sidecar: Path) -> None:
    """Some sample of `unit` has a row in its sidecar; else the sidecars were made from other
    shards (every sample would be scored as unannotated)."""
    uids = set(pq.read_table(sidecar, columns=["uid"])["uid"].to_pylist())
    samples = iter_unit(unit, SkipLog())
    try:
        if uids and not any(s.uid in uids for s in samples):
            raise UserError(
                f"{sidecar}: none of its {len(uids)} uids is a sample of {unit}; these "
                f"sidecars were made from other shards: pass the --sidecars that "
                f"`hqclip refine --input` made from these shards"
            )
    finally:
        samples.close()


def scores(sidecar_files: list[Path], path: str | Path) -> dict[Path, Path]:
    """{sidecar: its score sidecar}; refused unless every sidecar has one, every score file has a
    sidecar, and the first pair matches (`match`)."""
    root = folder(path, "--scores", "pass the --output folder of `hqclip score`")
    by_name = {p.name: p for p in list_sidecars(root)}
    foreign = next((p for p in by_name.values() if not is_scores(p)), None)
    if foreign is not None:
        what = "a refine sidecar" if is_sidecar(foreign) else "not a score sidecar"
        raise UserError(
            f"{foreign} is {what} (no score columns); pass the --output folder of `hqclip score` as --scores"
        )
    missing = [s for s in sidecar_files if s.name not in by_name]
    if missing:
        raise UserError(
            f"{missing[0]}: no scores for it in {root} ({len(missing)} of "
            f"{len(sidecar_files)} sidecars have none); run `hqclip score` on these "
            f"sidecars with --output {root} (a rerun finishes an interrupted one)"
        )
    names = {s.name for s in sidecar_files}
    extra = [p for n, p in sorted(by_name.items()) if n not in names]
    if extra:
        raise UserError(
            f"{extra[0]}: no sidecar of that name in {sidecar_files[0].parent}; these "
            f"scores are for another dataset: pass the --scores made from these sidecars"
        )
    pairs = {s: by_name[s.name] for s in sidecar_files}
    match(sidecar_files[0], pairs[sidecar_files[0]])
    return pairs


def match(sidecar: Path, scores_file: Path) -> None:
    """Every scored record of `scores_file` is a record of `sidecar` with lists of the same
    lengths; raises UserError naming the first sample that is not."""
    records = read_annotations(sidecar, SkipLog())
    for row in read_scores(scores_file, ["uid", *SCORE_FIELDS]):
        mismatch(records, row, sidecar, scores_file)


def mismatch(records: dict, row: dict, sidecar: Path, scores_file: Path) -> None:
    """One score row against the sidecar's records (uid → record)."""
    if row["desc"] is None:
        return
    rec = records.get(row["uid"])
    if rec is None:
        raise UserError(
            f"{scores_file}: sample {row['uid']} is scored but {sidecar} has no valid "
            f"record of it; these scores are for another dataset or older sidecars: "
            f"run `hqclip score` again on these sidecars"
        )
    for f in SCORE_FIELDS:
        if len(rec[f]) != len(row[f]):
            raise UserError(
                f"{scores_file}: sample {row['uid']} has {len(row[f])} {f} scores but "
                f"{sidecar} has {len(rec[f])} {f}; the scores were made from other "
                f"sidecars: run `hqclip score` again on these sidecars"
            )
