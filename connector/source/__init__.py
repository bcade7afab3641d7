"""Warehouse -> rows: incremental, streamed reads of orders and child rows.

Public names::

    from connector.source import (
        CursorWindow, ReadAhead, Relation, SourceSpec, Warehouse,
    )
"""

from __future__ import annotations

from connector.source.readahead import ReadAhead
from connector.source.spec import CursorWindow, Relation, SourceSpec
from connector.source.warehouse import Warehouse

__all__ = ["CursorWindow", "ReadAhead", "Relation", "SourceSpec", "Warehouse"]
