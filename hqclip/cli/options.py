"""Command options generated from a config dataclass: each default and help text is written once, in
the field (`metadata={"help": ...}`), so a command cannot drift from the Python API; and `--config`,
which replays a run from the config it wrote, with options given on the command line on top."""

from __future__ import annotations

import dataclasses
import inspect
import json
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from hqclip.errors import UserError

KEYWORD = inspect.Parameter.KEYWORD_ONLY


def config_options(
    cls: type,
    skip: tuple[str, ...] = (),
    flags: dict[str, str] | None = None,
    types: dict[str, Any] | None = None,
    defaults: dict[str, Any] | None = None,
) -> list[inspect.Parameter]:
    """One option per field of `cls` but `skip`: named after the field or as `flags` says, of the
    field's type or the one `types` gives, with the field's default (or its command-line spelling
    in `defaults`) and help. A field without a default gets None, so that `--config` can supply
    it; `config_values` checks it is there."""
    flags, types, defaults = flags or {}, types or {}, defaults or {}
    hints = typing.get_type_hints(cls)
    params = []
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        default = defaults.get(f.name, _default(f))
        decls = [flags[f.name]] if f.name in flags else []
        text = f.metadata.get("help")
        if _required(f):
            text = f"{text} (required unless --config)"
        params.append(
            inspect.Parameter(
                f.name,
                KEYWORD,
                annotation=types.get(f.name, hints[f.name]),
                default=typer.Option(default, *decls, help=text),
            )
        )
    return params


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _default(f: dataclasses.Field) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def with_options(*groups: list[inspect.Parameter], after: str | None = None) -> Callable:
    """Put the generated options into the command's signature (after its parameter `after`, else
    first); typer then parses them and passes them to the command's `**fields`."""

    def wrap(fn: Callable) -> Callable:
        sig = inspect.signature(fn, eval_str=True)
        own = [p.replace(kind=KEYWORD) for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
        at = 0 if after is None else [p.name for p in own].index(after) + 1
        fn.__signature__ = sig.replace(parameters=own[:at] + [p for g in groups for p in g] + own[at:])
        return fn

    return wrap


def config_values(
    ctx: typer.Context, cls: type, options: dict[str, Any], config: Path | None = None
) -> dict[str, Any]:
    """The values of `cls`'s fields that the command line asks for: with `--config`, those in the
    file (a run's config.json, or a manifest holding it under "config"), each replaced by an option
    given on the command line."""
    values = {k: str(v) if isinstance(v, Path) else v for k, v in options.items()}
    if config is not None:
        values = {**_read(config, cls), **{k: v for k, v in values.items() if given(ctx, k)}}
    flag = {p.name: p.opts[0] for p in ctx.command.params}
    missing = [flag[f.name] for f in dataclasses.fields(cls) if _required(f) and values.get(f.name) is None]
    if missing:
        raise UserError(f"give {' and '.join(missing)} (or --config with a run's config.json)")
    return values


def given(ctx: typer.Context, name: str) -> bool:
    """Whether option `name` was given on the command line (rather than left at its default)."""
    return ctx.get_parameter_source(name).name != "DEFAULT"


def _read(config: Path, cls: type) -> dict[str, Any]:
    try:
        values = json.loads(config.read_text())
    except (OSError, ValueError) as e:
        raise UserError(f"--config {config}: {e}") from None
    if isinstance(values, dict) and isinstance(values.get("config"), dict):
        values = values["config"]
    fields = {f.name for f in dataclasses.fields(cls)}
    if not isinstance(values, dict) or set(values) - fields:
        raise UserError(f"--config {config}: not a {cls.__name__} (give the config.json a run wrote)")
    return values
