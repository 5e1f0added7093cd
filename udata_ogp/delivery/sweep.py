"""The delivery sweep (to be written): see `udata_ogp.delivery`."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

__all__ = ("check_deliverables",)


def check_deliverables(
    commitment=None, ids: Iterable | None = None, now: datetime | None = None
) -> Any:
    """Evaluate the deliverables in scope (all, one commitment's, or some ids)."""
    raise NotImplementedError
