"""`hqclip compare`: how far two annotation sets of the same samples agree — a teacher's and its
student's, or two LVLMs'. Joined by sidecar name and uid. Per side: valid %, invalid reasons,
sentences and tags per record, and the kind of edit each negative makes of its positive (the word
diff `hqclip report` uses, `hqclip.schema.worddiff`). Between the sides, on the samples both
annotated validly: tag and negative-tag precision/recall/F1 (items compared case- and
space-insensitively, `item_key`; micro over all items and macro over samples), description
similarity by ROUGE-L F1 (rouge-score) and corpus BLEU (sacrebleu), neither needing Java, and with
a CLIP model the cosine of its text embeddings of the two descriptions (each the normalised mean of
its sentences' embeddings, through eval's `encode_texts` as `hqclip score` embeds).

Meant for held-out sets of thousands of samples: the description texts are held in memory for
BLEU's corpus statistics; everything else is counted as it streams."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from hqclip.curate import preflight
from hqclip.data.samples import SkipLog
from hqclip.data.sidecar import annotations, read_sidecar
from hqclip.errors import UserError
from hqclip.progress import bar
from hqclip.schema import item_key
from hqclip.schema.worddiff import EDIT_CLASSES, edit_class

SIDES = ("reference", "candidate")
TAGS = ("tags", "neg_tags")


class _Side:
    """One side's counts over the joined samples."""

    def __init__(self) -> None:
        self.status, self.reasons = Counter(), Counter()
        self.desc_edits, self.tag_edits = Counter(), Counter()
        self.sentences, self.tags, self.records = 0, 0, 0

    def add(self, row: dict[str, Any], rec: dict[str, list[str]] | None) -> None:
        self.status["ok" if rec is not None else "invalid"] += 1
        if rec is None:
            self.reasons[row["reason"] if row["status"] != "ok" else "invalid_record"] += 1
            return
        self.records += 1
        self.sentences += len(rec["desc"])
        self.tags += len(rec["tags"])
        self.desc_edits.update(edit_class(p, n) for p, n in zip(rec["desc"], rec["neg_desc"]))
        self.tag_edits.update(edit_class(p, n) for p, n in zip(rec["tags"], rec["neg_tags"]))

    def summary(self) -> dict[str, Any]:
        n = sum(self.status.values())
        return {
            "samples": n,
            "valid_pct": round(100 * self.status["ok"] / n, 2) if n else None,
            "invalid_reasons": dict(self.reasons.most_common()),
            "sentences_per_record": round(self.sentences / self.records, 3) if self.records else None,
            "tags_per_record": round(self.tags / self.records, 3) if self.records else None,
            "edits": {
                "desc": {k: self.desc_edits[k] for k in EDIT_CLASSES if self.desc_edits[k]},
                "tags": {k: self.tag_edits[k] for k in EDIT_CLASSES if self.tag_edits[k]},
            },
        }


class _SetAgreement:
    """Precision, recall and F1 of the candidate's items against the reference's."""

    def __init__(self) -> None:
        self.tp = self.fp = self.fn = 0
        self.f1s: list[float] = []

    def add(self, ref: list[str], cand: list[str]) -> None:
        r, c = {item_key(t) for t in ref}, {item_key(t) for t in cand}
        tp = len(r & c)
        self.tp, self.fp, self.fn = self.tp + tp, self.fp + len(c - r), self.fn + len(r - c)
        self.f1s.append(2 * tp / (len(r) + len(c)) if r or c else 1.0)

    def summary(self) -> dict[str, Any]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0
        return {
            "precision": round(p, 4),
            "recall": round(r, 4),
            "f1": round(2 * p * r / (p + r), 4) if p + r else 0.0,
            "macro_f1": round(float(np.mean(self.f1s)), 4) if self.f1s else None,
        }


def _pairs(reference: Path, candidate: Path) -> tuple[list[tuple[Path, Path]], int, int]:
    """(reference, candidate) sidecar pairs with the same name; the count of names only one has."""
    ref = {p.name: p for p in preflight.sidecars(reference, "--reference")}
    cand = {p.name: p for p in preflight.sidecars(candidate, "--candidate")}
    both = sorted(ref.keys() & cand.keys())
    if not both:
        raise UserError(
            f"--candidate {candidate}: no sidecar has the name of one in --reference {reference} "
            f"(e.g. {next(iter(ref))}); compare two annotation sets of the same shards"
        )
    return [(ref[n], cand[n]) for n in both], len(ref.keys() - cand.keys()), len(cand.keys() - ref.keys())


def compare(
    reference: str | Path,
    candidate: str | Path,
    model: str | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> dict[str, Any]:
    """The agreement of two sidecar folders (see the module's docstring); `model`: an open_clip
    `[LABEL=]NAME[:CHECKPOINT]` whose text-embedding cosine is reported too. Refuses
    (`UserError`) before any work what it cannot compare."""
    pairs, only_ref, only_cand = _pairs(Path(reference), Path(candidate))
    m = None
    if model is not None:
        from hqclip.clip.load import ModelSpec, load

        m = load(ModelSpec.parse(model), device)
    sides = {s: _Side() for s in SIDES}
    tags = {f: _SetAgreement() for f in TAGS}
    texts: dict[str, list[list[str]]] = {s: [] for s in SIDES}
    unmatched = 0
    for ref_file, cand_file in bar(pairs, desc="compare", unit="sidecar", disable=not progress):
        files = dict(zip(SIDES, (ref_file, cand_file)))
        table = {s: read_sidecar(f) for s, f in files.items()}  # each read once, for rows and records
        rows = {s: {r["uid"]: r for r in table[s]} for s in SIDES}
        recs = {s: annotations(table[s], files[s], SkipLog()) for s in SIDES}
        common = [u for u in rows["reference"] if u in rows["candidate"]]
        unmatched += len(rows["reference"]) + len(rows["candidate"]) - 2 * len(common)
        for uid in common:
            for s in SIDES:
                sides[s].add(rows[s][uid], recs[s].get(uid))
            if uid in recs["reference"] and uid in recs["candidate"]:
                r, c = recs["reference"][uid], recs["candidate"][uid]
                for f in TAGS:
                    tags[f].add(r[f], c[f])
                texts["reference"].append(r["desc"])
                texts["candidate"].append(c["desc"])
    n = sides["reference"].summary()["samples"]
    if not n:
        raise UserError(
            f"--candidate {candidate}: none of its uids is in --reference {reference}; compare two "
            f"annotation sets of the same samples"
        )
    res: dict[str, Any] = {
        "folders": {"reference": str(reference), "candidate": str(candidate)},
        "samples": n,
        "both_valid": len(texts["reference"]),
        "unmatched_samples": unmatched,
        "unmatched_sidecars": {"reference": only_ref, "candidate": only_cand},
        **{s: sides[s].summary() for s in SIDES},
        **{f: tags[f].summary() for f in TAGS},
        "description": _text_similarity(texts["reference"], texts["candidate"]),
    }
    if m is not None:
        res["description"]["clip_cosine"] = _clip_cosine(m, texts["reference"], texts["candidate"])
        res["description"]["clip_model"] = m.label
    return res


def _text_similarity(ref: list[list[str]], cand: list[list[str]]) -> dict[str, Any]:
    import sacrebleu
    from rouge_score import rouge_scorer

    if not ref:
        return {"rouge_l": None, "bleu": None}
    joined_ref, joined_cand = [" ".join(d) for d in ref], [" ".join(d) for d in cand]
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    rouge = [scorer.score(r, c)["rougeL"].fmeasure for r, c in zip(joined_ref, joined_cand)]
    return {
        "rouge_l": round(float(np.mean(rouge)), 4),
        "bleu": round(sacrebleu.corpus_bleu(joined_cand, [joined_ref]).score, 2),
    }


def _clip_cosine(m: Any, ref: list[list[str]], cand: list[list[str]]) -> float | None:
    """Mean over samples of the cosine between the two sides' mean sentence embeddings."""
    from hqclip.eval.embed import encode_texts

    if not ref:
        return None

    def per_sample(descs: list[list[str]]) -> np.ndarray:
        flat = [s for d in descs for s in d]
        emb = encode_texts(m, m.tokenizer(flat), 512)
        owner = np.repeat(np.arange(len(descs)), [len(d) for d in descs])
        mean = np.zeros((len(descs), emb.shape[1]), np.float64)
        np.add.at(mean, owner, emb)
        return mean / np.linalg.norm(mean, axis=1, keepdims=True)

    return round(float(np.mean(np.sum(per_sample(ref) * per_sample(cand), axis=1))), 4)
