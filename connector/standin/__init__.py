"""A local stand-in for Northbeam's Orders API, for the demo, tests and benchmarks.

Usage::

    with StandIn(budget_bytes=1_000_000, faults=Faults(script=[500])) as api:
        post(api.url + "/v1/orders", ...)
        api.orders("v1")  # stored orders by order id

Endpoints: ``POST /v1/orders``, ``POST /v2/orders`` (upsert),
``PATCH /v2/orders`` (partial update of stored orders; null clears a
field), ``GET /v1/orders`` and ``GET /v2/orders``. ``POST
/v2/orders/aliases`` responds 404.

``GET`` takes ``start_date`` and ``end_date`` (YYYY-MM-DD, inclusive) and
returns the stored orders whose ``time_of_purchase`` date falls in the
range, as a JSON array. A missing parameter takes the default from
Northbeam's OpenAPI files (2001-01-01 and 9999-01-01), so a GET without
parameters returns every stored order and is safe for checking
credentials. A GET never counts against the byte budget and never gets an
injected fault.

Responses:

- 200 ``{"message": "Orders received"}``.
- 400 with an empty body for malformed JSON.
- 400 ``{"error": "bad request"}`` when the body is not a non-empty array,
  and for validation failures when ``generic_400`` is set.
- 400 ``{"status": "error", "response": "<JSON list>"}`` listing every
  problem as ``{order_id, message, json_path}``. The ``json_path`` is
  relative to the body, as in ``$[3].products[0].price``.
- 401 with an empty body.
- 405 with an ``Allow`` header, for PATCH on v1 and other methods.
- 413 ``{"error": ...}`` for too many orders or too large a body.
- 429 with ``Retry-After`` and ``{"error": "rate_limit_error",
  "retry_after_seconds": N}``.
"""

from __future__ import annotations

from connector.standin.faults import FaultAction, Faults
from connector.standin.server import StandIn
from connector.standin.store import RequestRecord

__all__ = ["FaultAction", "Faults", "RequestRecord", "StandIn"]
