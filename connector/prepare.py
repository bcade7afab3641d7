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

from pydantic_core import to_json

from connector.mapping import OrderMapper
from connector.records import Reject
from connector.sink import PreparedOrder
from connector.transform.identity import IdentityHasher
from connector.validate import OrderValidator
from connector.validate.models import json_number


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return json_number(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__} in an order")


def serialise(document: dict[str, Any]) -> bytes:
    """Compact JSON of any document, with money written as it is sent.

    Orders on their way to the API are written by :meth:`OrderPreparer.package`;
    this function also takes documents that are not valid orders, for display.
    """
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
        """Return the prepared order (or its reject) and the mapped document.

        The document has the identity fields merged in and money as Decimal.
        """
        mapped = self.mapper.map(row, children)
        if isinstance(mapped, Reject):
            return mapped, None

        document = mapped.document
        document.update(self.hasher.apply(mapped.identity))
        ready = self.validator.validate(mapped.key, document)
        if isinstance(ready, Reject):
            return ready, None
        return self.package(mapped.key, ready), document

    def package(self, key: str, ready: dict[str, Any]) -> PreparedOrder:
        """Serialise an order returned by ``OrderValidator.validate``; fingerprint it.

        ``ready`` holds only JSON types (validation converted money), so the
        fast pydantic-core encoder writes it; its output is compact UTF-8.
        """
        body = to_json(ready)
        fingerprint = hashlib.sha256(self._salt + body).hexdigest()
        return PreparedOrder(
            key=key, order_id=str(ready["order_id"]), body=body, fingerprint=fingerprint
        )
