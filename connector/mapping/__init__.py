"""Mapping files: YAML rules that turn warehouse rows into Northbeam orders.

``load_mapping(path, api_version)`` reads and checks a file and returns an
:class:`OrderMapping`; :class:`OrderMapper` applies it to rows.
"""

from __future__ import annotations

from connector.mapping.loader import OrderMapping, load_mapping
from connector.mapping.mapper import MapperStats, OrderMapper
from connector.mapping.model import MappingFile

__all__ = ["MapperStats", "MappingFile", "OrderMapper", "OrderMapping", "load_mapping"]
