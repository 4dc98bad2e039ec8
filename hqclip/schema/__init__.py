"""The annotation record: four aligned text lists written by the LVLM for one image."""

from hqclip.schema.record import (
    FIELDS,
    LIMITS,
    RECORD_JSON_SCHEMA,
    Record,
    check,
    item_key,
    normalize,
    validate,
)

__all__ = ["FIELDS", "LIMITS", "RECORD_JSON_SCHEMA", "Record", "check", "item_key", "normalize", "validate"]
