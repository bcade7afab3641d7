"""northbeam-sync: sync orders from a data warehouse to Northbeam's Orders API."""

from __future__ import annotations

__version__ = "0.1.0"
