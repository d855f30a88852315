"""``VOLUME=NAME`` datastore mappings for offline conversion (the CLI's ``--datastore`` and the
ConvertForm's mapping box share this one parser)."""

from __future__ import annotations

from collections.abc import Iterable

from .. import errors

__all__ = ["parse_datastore_mapping"]


def parse_datastore_mapping(
    entries: str | Iterable[str], *, source: str = "datastore mapping"
) -> dict[str, str]:
    """``{volume: datastore name}`` from ``volume = name`` entries: the lines of a text (blank
    lines and ``#`` comments skipped) or a list of ``VOLUME=NAME`` items.

    A malformed entry or a volume mapped twice is a ValidationError naming ``source``, the
    entry's number and the entry.
    """
    items = entries.splitlines() if isinstance(entries, str) else list(entries)
    word = "line" if isinstance(entries, str) else "entry"
    mapping: dict[str, str] = {}
    for number, raw in enumerate(items, start=1):
        entry = raw.strip()
        if not entry or entry.startswith("#"):
            continue
        key, equals, value = entry.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key or not value:
            raise errors.ValidationError(
                f"{source} {word} {number}: expected 'VOLUME=NAME' "
                f"(e.g. 498076b2-02796c1a-ef5b-000ae484a6a3=local-storage), got {entry!r}"
            )
        if key in mapping:
            raise errors.ValidationError(f"{source} {word} {number}: {key!r} is mapped twice")
        mapping[key] = value
    return mapping
