"""The warehouse handle the source tests seed and read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from connector.config import WarehouseSettings
from connector.source import Warehouse


@dataclass
class Backend:
    """A test warehouse: seed it with ``run``, read it with ``connect``."""

    name: str
    url: str
    base_dir: Path

    def run(self, sql: str, params: Any = None) -> None:
        """Execute one statement (with executemany for a list of params)."""
        engine = sa.create_engine(self.url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(sql), params)
        finally:
            engine.dispose()

    def connect(self, url: str | None = None) -> Warehouse:
        settings = WarehouseSettings(url=url or self.url)
        return Warehouse.connect(settings, self.base_dir)
