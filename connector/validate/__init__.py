"""Validation of outgoing orders against the Orders API v1 and v2 contracts."""

from __future__ import annotations

from connector.validate.validator import (
    OrderValidator,
    Problem,
    ServerRule,
    validate_order,
)

__all__ = ["OrderValidator", "Problem", "ServerRule", "validate_order"]
