"""Turn one warehouse row and its child rows into a serialised, validated order.

This is the per-order hot path: map, hash identities, validate, serialise,
fingerprint. It returns either a :class:`PreparedOrder` ready for a batch or
a :class:`Reject` explaining why the order cannot be sent.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from connector.mapping import OrderMapper
from connector.records import Reject
from connector.sink import PreparedOrder
from connector.transform.identity import IdentityHasher
from connector.validate import OrderValidator


def _json_default(value: Any) -> Any:
    # Money stays Decimal until here. An integral amount is written as an
    # integer; any other goes through float, whose shortest repr gives back
    # the same decimal text for amounts up to 15 significant digits.
    if isinstance(value, Decimal):
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__} in an order")


def serialise(document: dict[str, Any]) -> bytes:
    """Compact JSON for one order, the exact bytes that go on the wire."""
    return json.dumps(
        document, separators=(",", ":"), ensure_ascii=False, default=_json_default
    ).encode("utf-8")


class OrderPreparer:
    """Map, hash, validate and serialise orders for one target.

    ``target`` (base URL and API version) is part of every fingerprint, so
    switching from UAT to production or from v1 to v2 resends every order.
    """

    def __init__(
        self,
        mapper: OrderMapper,
        hasher: IdentityHasher,
        validator: OrderValidator,
        target: str,
    ) -> None:
        self.mapper = mapper
        self.hasher = hasher
        self.validator = validator
        self._salt = (target + "\n").encode("utf-8")

    def prepare(
        self, row: dict[str, Any], children: dict[str, list[dict[str, Any]]]
    ) -> tuple[PreparedOrder | Reject, dict[str, Any] | None]:
        """Return the prepared order (or its reject) and the document sent."""
        mapped = self.mapper.map(row, children)
        if isinstance(mapped, Reject):
            return mapped, None

        document = mapped.document
        document.update(self.hasher.apply(mapped.identity))
        reject = self.validator.check(mapped.key, document)
        if reject is not None:
            return reject, None

        body = serialise(document)
        fingerprint = hashlib.sha256(self._salt + body).hexdigest()
        order_id = str(document["order_id"])
        prepared = PreparedOrder(
            key=mapped.key, order_id=order_id, body=body, fingerprint=fingerprint
        )
        return prepared, document
