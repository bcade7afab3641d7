"""Warehouse -> rows: incremental, streamed reads of orders and child rows.

Public names::

    from connector.source import CursorWindow, Relation, SourceSpec, Warehouse
"""

from __future__ import annotations

from connector.source.spec import CursorWindow, Relation, SourceSpec
from connector.source.warehouse import Warehouse

__all__ = ["CursorWindow", "Relation", "SourceSpec", "Warehouse"]
