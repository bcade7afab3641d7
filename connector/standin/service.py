"""Request handling of the stand-in, independent of the HTTP plumbing.

A write request (POST, or PATCH on v2) goes through these checks in order:

1. credentials (bare 401);
2. the next injected fault;
3. ``max_body_bytes`` (413);
4. the byte budget (429);
5. JSON parsing (400 with an empty body);
6. the body shape and the order count (400 or 413);
7. validation of every order (400 envelope).

Only then is the batch stored, all or nothing. Every request that passes
step 4 is charged to the byte budget, even if it fails validation later.
Responses 401, 413 for size and 429 are not charged.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from connector.standin import replies
from connector.standin.budget import ByteBudget
from connector.standin.faults import FaultAction, FaultPlan, Faults
from connector.standin.queries import orders_in_range, parse_date_range
from connector.standin.replies import Reply
from connector.standin.rules import Problem, validate_orders, validate_patches
from connector.standin.shapes import ApiVersion
from connector.standin.store import Order, OrderStore, RequestRecord

logger = logging.getLogger(__name__)

#: Orders per PATCH request, from the OpenAPI file (``maxItems``).
MAX_PATCH_ENTRIES = 2500

_ROUTES: dict[str, tuple[ApiVersion, tuple[str, ...]]] = {
    "/v1/orders": ("v1", ("GET", "POST")),
    "/v2/orders": ("v2", ("GET", "POST", "PATCH")),
}


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, with lowercase header names."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Options:
    """Behaviour settings of a stand-in, documented on ``StandIn``."""

    api_key: str
    client_id: str
    max_orders_per_request: int
    max_body_bytes: int | None
    store: bool
    generic_400: bool
    reject_order_ids: frozenset[str]

    def __post_init__(self) -> None:
        if self.max_orders_per_request < 1:
            raise ValueError("max_orders_per_request must be at least 1")
        if self.max_body_bytes is not None and self.max_body_bytes < 1:
            raise ValueError("max_body_bytes must be at least 1, or None")


class _InvalidJSONError(ValueError):
    pass


class OrdersService:
    """Northbeam's orders endpoints over an in-memory store."""

    def __init__(
        self,
        options: Options,
        *,
        budget: ByteBudget,
        faults: Faults,
        clock: Callable[[], float],
    ) -> None:
        self.options = options
        self.budget = budget
        self.fault_plan = FaultPlan(faults)
        self.store = OrderStore()
        #: Called with the log record of each write request that stored
        #: orders, on the request's thread, before the response is sent.
        self.on_store: Callable[[RequestRecord], None] | None = None
        self._clock = clock

    def handle(self, request: Request) -> Reply:
        """Build the response to one request and append it to the request log."""
        reply = self._route(request)
        record = RequestRecord(
            method=request.method,
            path=request.path,
            status=None if reply.drop else reply.status,
            orders=reply.orders,
            body_bytes=len(request.body),
            timestamp=self._clock(),
            fault=reply.fault,
        )
        self.store.log(record)
        logger.debug("%s %s -> %s", request.method, request.path, reply.status)
        if reply.stored and self.on_store is not None:
            self.on_store(record)
        return reply

    def _route(self, request: Request) -> Reply:
        path = request.path.rstrip("/")
        if path == "/v2/orders/aliases":
            # Alias writes are not imitated because the connector never sends them.
            return replies.error_reply(HTTPStatus.NOT_FOUND, "not supported")
        if path not in _ROUTES:
            return replies.error_reply(HTTPStatus.NOT_FOUND, "not found")
        version, methods = _ROUTES[path]
        if request.method not in methods:
            reply = replies.error_reply(
                HTTPStatus.METHOD_NOT_ALLOWED, "method not allowed"
            )
            reply.headers["Allow"] = ", ".join(methods)
            return reply
        if not self._is_authorized(request.headers):
            return replies.unauthorized()
        if request.method == "GET":
            return self._read(version, request.query)
        return self._write(version, request)

    def _is_authorized(self, headers: Mapping[str, str]) -> bool:
        key = headers.get("authorization", "")
        client = headers.get("data-client-id", "")
        key_ok = hmac.compare_digest(key.encode(), self.options.api_key.encode())
        client_ok = hmac.compare_digest(
            client.encode(), self.options.client_id.encode()
        )
        return key_ok and client_ok

    def _read(self, version: ApiVersion, query: Mapping[str, list[str]]) -> Reply:
        try:
            start, end = parse_date_range(query)
        except ValueError as exc:
            return replies.error_reply(HTTPStatus.BAD_REQUEST, str(exc))
        found = orders_in_range(self.store.shared_orders(version), start, end)
        reply = replies.json_reply(HTTPStatus.OK, found)
        reply.orders = len(found)
        return reply

    def _write(self, version: ApiVersion, request: Request) -> Reply:
        plan = self.fault_plan
        fault = plan.next_action()
        if isinstance(fault, int):
            reply = replies.scripted_status(fault)
            reply.fault = str(fault)
        elif fault == "close":
            reply = Reply(HTTPStatus.OK, drop=True, fault="close")
        else:
            reply = self._admit_and_process(version, request)
            _apply_fault(reply, fault, plan.faults.slow_seconds)
        return reply

    def _admit_and_process(self, version: ApiVersion, request: Request) -> Reply:
        size = len(request.body)
        limit = self.options.max_body_bytes
        if limit is not None and size > limit:
            return replies.error_reply(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {size} bytes is over the limit of {limit}",
            )
        if not self.budget.fits_at_all(size):
            return replies.error_reply(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"request body of {size} bytes is over the whole rate-limit "
                f"budget of {self.budget.budget_bytes} bytes",
            )
        wait = self.budget.admit(self.options.api_key, size)
        if wait is not None:
            return replies.rate_limited(wait)
        return self._process(version, request)

    def _process(self, version: ApiVersion, request: Request) -> Reply:
        try:
            batch = _parse_json(request.body)
        except _InvalidJSONError:
            return replies.malformed_json()
        reply = self._process_batch(version, request.method, batch)
        reply.orders = len(batch) if isinstance(batch, list) else 0
        return reply

    def _process_batch(self, version: ApiVersion, method: str, batch: Any) -> Reply:
        is_patch = method == "PATCH"
        cap = MAX_PATCH_ENTRIES if is_patch else self.options.max_orders_per_request
        if not isinstance(batch, list) or not batch:
            return replies.generic_bad_request()
        if len(batch) > cap:
            return replies.error_reply(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"{len(batch)} orders in one request; the maximum is {cap}",
            )
        problems = self._patch(batch) if is_patch else self._post(version, batch)
        if problems:
            return self._invalid(problems)
        reply = replies.accepted()
        reply.stored = self.options.store
        return reply

    def _invalid(self, problems: list[Problem]) -> Reply:
        if self.options.generic_400:
            return replies.generic_bad_request()
        return replies.validation_failed(problems)

    def _post(self, version: ApiVersion, batch: list[Any]) -> list[Problem]:
        problems = validate_orders(
            batch, version, reject_order_ids=self.options.reject_order_ids
        )
        if not problems and self.options.store:
            self.store.upsert(version, batch)
        return problems

    def _patch(self, entries: list[Any]) -> list[Problem]:
        problems = validate_patches(entries)
        if problems or not self.options.store:
            # In UAT nothing is stored, so existence is not checked either.
            return problems

        def change(stored: Mapping[str, Order]) -> dict[str, Order] | None:
            merged = _merge_patches(entries, stored, problems)
            return None if problems else merged

        self.store.update("v2", change)
        return problems


def _apply_fault(reply: Reply, fault: FaultAction | None, slow: float) -> None:
    if fault == "drop":
        reply.drop = True
        reply.fault = "drop"
    elif fault == "slow":
        reply.delay_seconds = slow
        reply.fault = "slow"


def _reject_constant(name: str) -> Any:
    raise _InvalidJSONError(f"{name} is not valid JSON")


def _parse_json(body: bytes) -> Any:
    try:
        return json.loads(body, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as exc:
        raise _InvalidJSONError(str(exc)) from exc


def _merge_patches(
    entries: list[dict[str, Any]],
    stored: Mapping[str, Order],
    problems: list[Problem],
) -> dict[str, Order]:
    """Apply PATCH entries to stored orders and append any problems to ``problems``.

    A null value removes the field. Each merged order is validated again as
    a whole v2 order, so a patch cannot leave an invalid order behind.
    """
    merged: dict[str, Order] = {}
    last_index: dict[str, int] = {}
    for index, entry in enumerate(entries):
        order_id = entry["order_id"]
        base = merged.get(order_id, stored.get(order_id))
        if base is None:
            problems.append(
                Problem(order_id, "order not found; POST it first", f"$[{index}]")
            )
            continue
        merged[order_id] = _merge(base, entry)
        last_index[order_id] = index
    for order_id, order in merged.items():
        for problem in validate_orders([order], "v2"):
            relative = problem.json_path.removeprefix("$[0]")
            path = f"$[{last_index[order_id]}]{relative}"
            message = f"{problem.message} after the patch"
            problems.append(Problem(order_id, message, path))
    return merged


def _merge(base: Order, entry: dict[str, Any]) -> Order:
    order = dict(base)
    for key, value in entry.items():
        if value is None:
            order.pop(key, None)
        else:
            order[key] = value
    return order
