"""The report's browsable page: random samples, each with its image and alt-text (from the shards)
and its four texts side by side — description, negative description, tags, negative tags — with
the scorer's similarity of each and the kind of edit each negative makes. One self-contained HTML
file (images as data URLs, thumbnails of at most THUMB px), so it can be copied or mailed."""

from __future__ import annotations

import base64
import io
from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

from hqclip.data.samples import BadSample, SkipLog, decode_image
from hqclip.data.sidecar import sidecar_path
from hqclip.schema.worddiff import edit_class

THUMB = 192
CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:16px;background:#fafafa;color:#222}
h1{font-size:20px} .summary{color:#555}
.sample{background:#fff;border:1px solid #ddd;border-radius:6px;margin:14px 0;padding:10px}
.sample header{font-size:12px;color:#666;margin-bottom:6px}
.status{padding:1px 6px;border-radius:8px;color:#fff;background:#2a7d2a}
.status.invalid{background:#b03030}
.body{display:flex;gap:14px;align-items:flex-start}
.body img,.noimg{width:160px;height:160px;object-fit:contain;image-rendering:pixelated;
  background:#eee;border:1px solid #ccc;flex:none}
.noimg{display:flex;align-items:center;justify-content:center;color:#888;font-size:12px}
.texts{flex:1;min-width:0} .alt{margin:0 0 6px}
table{border-collapse:collapse;width:100%} th,td{border:1px solid #e2e2e2;padding:3px 6px;
  vertical-align:top;text-align:left;width:25%} th{background:#f3f3f3;font-weight:600}
.neg{color:#8a3b12} .s{font:11px monospace;color:#555;margin-left:4px}
.low{color:#b03030;font-weight:bold} .kind{font-size:11px;color:#777}
pre{white-space:pre-wrap;font-size:12px;background:#f6f6f6;padding:6px;max-height:8em;overflow:auto}
"""


def _thumbnail(data: bytes) -> str:
    img = decode_image(data)
    img.thumbnail((THUMB, THUMB))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def attach_images(samples: list[dict[str, Any]], inputs: str | Path) -> list[dict[str, Any]]:
    """Each sample with `image` (a data URL) and `alt` from its shard in `inputs`; a shard is read
    only if one of the samples is in it."""
    from hqclip.data.inputs import iter_unit, resolve_inputs

    units = {sidecar_path(u, "").name: u for u in resolve_inputs(inputs)}
    wanted: dict[str, dict[str, dict]] = defaultdict(dict)
    for s in samples:
        wanted[s["sidecar"]][s["row"]["uid"]] = s
    for name, by_uid in wanted.items():
        if name not in units:
            continue
        for sample in iter_unit(units[name], SkipLog()):
            s = by_uid.get(sample.uid)
            if s is None:
                continue
            s["alt"] = sample.text
            try:
                s["image"] = _thumbnail(sample.image_bytes)
            except BadSample as e:
                s["image_error"] = e.reason
    return samples


def _score(sc: dict | None, field: str, i: int, margin: bool = False) -> str:
    if not sc or sc.get(field) is None:
        return ""
    v = sc[field][i]
    out = f'<span class="s">{v:.3f}</span>'
    if margin:
        m = sc["margin"][i]
        out += f'<span class="s{" low" if m < 0 else ""}">Δ {m:+.3f}</span>'
    return out


def _pairs(row: dict[str, Any], sc: dict | None) -> str:
    desc, neg = row.get("desc") or [], row.get("neg_desc") or []
    tags, neg_tags = row.get("tags") or [], row.get("neg_tags") or []
    scored = (
        sc is not None
        and sc.get("desc") is not None
        and len(sc["desc"]) == len(desc)
        and len(sc["tags"]) == len(tags)
    )  # scores index the normalised record; shown when aligned
    sc = sc if scored else None
    cells = ["<tr><th>description</th><th>negative description</th><th>tags</th><th>negative tags</th></tr>"]
    for i in range(max(len(desc), len(tags))):
        c = ["", "", "", ""]
        if i < len(desc):
            c[0] = escape(desc[i]) + _score(sc, "desc", i)
            if i < len(neg):
                c[1] = (
                    f'<span class="neg">{escape(neg[i])}</span>'
                    + _score(sc, "neg_desc", i, True)
                    + f'<div class="kind">{escape(edit_class(desc[i], neg[i]))}</div>'
                )
        if i < len(tags):
            c[2] = escape(tags[i]) + _score(sc, "tags", i)
            if i < len(neg_tags):
                c[3] = f'<span class="neg">{escape(neg_tags[i])}</span>' + _score(sc, "neg_tags", i)
        cells.append("<tr>" + "".join(f"<td>{x}</td>" for x in c) + "</tr>")
    return "<table>" + "".join(cells) + "</table>"


def _card(n: int, s: dict[str, Any]) -> str:
    row, sc = s["row"], s.get("scores")
    status = row["status"] or "?"
    head = (
        f"<header><b>#{n}</b> uid <code>{escape(row['uid'])}</code> · {escape(s['sidecar'])} "
        f'key {escape(str(row["key"]))} · <span class="status {escape(status)}">{escape(status)}'
        f"</span> {escape(row.get('reason') or '')}</header>"
    )
    if s.get("image"):
        img = f'<img src="{s["image"]}" alt="image of {escape(row["uid"])}">'
    else:
        why = s.get("image_error") or ("not in --input" if "alt" in s else "pass --input for images")
        img = f'<div class="noimg">no image ({escape(why)})</div>'
    alt = s.get("alt")
    alt_score = f'<span class="s">{sc["alt"]:.3f}</span>' if sc and sc.get("alt") is not None else ""
    texts = [
        f'<p class="alt"><b>alt-text</b>: {escape(alt) if alt else "<i>(empty)</i>"}{alt_score}</p>'
        if alt is not None
        else ""
    ]
    if row.get("desc"):
        texts.append(_pairs(row, sc))
    if status != "ok" and row.get("raw"):
        texts.append(f"<pre>{escape(row['raw'])}</pre>")
    return (
        f'<section class="sample" data-uid="{escape(row["uid"])}">{head}<div class="body">{img}'
        f'<div class="texts">{"".join(texts)}</div></div></section>'
    )


def samples_page(samples: list[dict[str, Any]], summary: dict[str, Any]) -> str:
    scored = (
        " Numbers beside a text are the scorer's image–text similarity; Δ is the margin "
        "over the aligned negative (red: the negative scores higher)."
        if summary.get("scores")
        else ""
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>hqclip report: samples</title>"
        f"<style>{CSS}</style></head><body><h1>Refined samples: {escape(summary['sidecars'])}</h1>"
        f"<p class='summary'>{len(samples)} random samples of {summary['rows']} rows "
        f"({summary['valid_pct']}% valid).{scored}</p>"
        + "".join(_card(i + 1, s) for i, s in enumerate(samples))
        + "</body></html>\n"
    )
