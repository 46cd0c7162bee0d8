"""Version ids of bundles and index versions: one format, sortable by time, unique by a suffix."""

from __future__ import annotations

from datetime import UTC, datetime


def version_id(suffix: str, prefix: str | None = None) -> str:
    """`[<prefix>-]<UTC time as YYYYmmdd-HHMMSS>-<suffix>`."""
    stamp = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{suffix}"
    return f"{prefix}-{stamp}" if prefix else stamp
