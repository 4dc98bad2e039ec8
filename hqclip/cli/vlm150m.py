"""`hqclip import-vlm150m` / `export-vlm150m`: the released VLM-150M / VLM-1B per-uid JSON layout
to sidecars (to train on the released annotations) and back (to publish your own)."""

from pathlib import Path

import typer

from hqclip.cli.app import app


@app.command("import-vlm150m")
def import_vlm150m(
    src: Path = typer.Option(..., "--src", help="released folder: <NNNNN>/<uid>.json"),
    sidecars: Path = typer.Option(..., "--sidecars", help="output: one <NNNNN>.parquet per folder"),
) -> None:
    """Turn released annotations into sidecars that `hqclip train --sidecars` joins by uid."""
    from hqclip.data.samples import SkipLog
    from hqclip.data.vlm150m import import_vlm150m as do_import

    skips = SkipLog()
    counts = do_import(src, sidecars, skips)
    typer.echo({**counts, "unreadable_files": skips.total})


@app.command("export-vlm150m")
def export_vlm150m(
    sidecars: Path = typer.Option(..., "--sidecars", help="folder of sidecars (refine's or imported)"),
    out: Path = typer.Option(..., "--out", help="output folder: <NNNNN>/<uid>.json per sample"),
) -> None:
    """Write the released VLM-150M layout (one JSON per uid) from sidecars; ok rows only."""
    from hqclip.data.vlm150m import export_vlm150m as do_export

    typer.echo(do_export(sidecars, out))
