"""northbeam-sync: sync orders from a data warehouse to Northbeam's Orders API.

What users may import::

    from connector import sync, check, preview, RunOptions, RunSummary
    from connector.pii import hash_email, hash_phone

Names resolve lazily, so ``import connector.pii`` stays light and does not
load the warehouse drivers.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "sync": "connector.api",
    "check": "connector.api",
    "preview": "connector.api",
    "state_show": "connector.api",
    "state_reset": "connector.api",
    "state_set": "connector.api",
    "RunOptions": "connector.pipeline",
    "RunSummary": "connector.summary",
    "Settings": "connector.config",
    "load_settings": "connector.config",
    "ConnectorError": "connector.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'connector' has no attribute {name!r}")
    return getattr(import_module(module), name)
