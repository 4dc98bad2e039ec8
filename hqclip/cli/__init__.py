"""The `hqclip` command line: one typer app, one file per command group."""
