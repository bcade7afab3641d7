"""Send one batch and settle each of its orders as accepted or rejected.

A request is all or nothing: when the API rejects one order, none of the
request was stored. So after a validation envelope the orders it names are
rejected and the rest are sent again. A 400 or 413 that names no order is
narrowed down by halving: each half of the request is sent separately. A
single order that still fails is rejected.
"""

from __future__ import annotations

import logging

from connector.errors import FatalSinkError
from connector.records import Reject
from connector.sink.batch import Batch, BatchOutcome, PreparedOrder, request_body_size
from connector.sink.responses import Answer, Kind, OrderProblem
from connector.sink.retry import RetryingPoster

logger = logging.getLogger(__name__)

UNAUTHORIZED_MESSAGE = (
    "The orders API refused the credentials (HTTP 401). Check the API key and "
    "the client id: either one being wrong gives this error."
)
#: Messages kept per order when the API lists several problems for it.
_MAX_MESSAGES_PER_ORDER = 3


class BatchSender:
    """Sender of whole batches, one :class:`BatchOutcome` each; thread-safe."""

    def __init__(
        self, poster: RetryingPoster, *, max_request_bytes: int | None = None
    ) -> None:
        self._poster = poster
        self._max_request_bytes = max_request_bytes

    def send(self, batch: Batch) -> BatchOutcome:
        """Send ``batch`` and return the outcome of each of its orders.

        Raises:
            FatalSinkError: HTTP 401 or another status retrying cannot fix.
            RetryableSinkError: transient failures outlasted the retries.
        """
        outcome = BatchOutcome(batch)
        groups = [batch.orders]
        while groups:
            group = groups.pop()
            if self._is_over_limit(group):
                groups.extend(_halves(group))
                continue
            answer = self._poster.post(batch.seq, group)
            groups.extend(self._settle(batch.seq, group, answer, outcome))
        return outcome

    def _is_over_limit(self, group: list[PreparedOrder]) -> bool:
        # Split up front: small requests pack each paced window closely, and
        # a request over the whole budget would get 429 or 413 anyway.
        limit = self._max_request_bytes
        return limit is not None and len(group) > 1 and request_body_size(group) > limit

    def _settle(
        self,
        seq: int,
        group: list[PreparedOrder],
        answer: Answer,
        outcome: BatchOutcome,
    ) -> list[list[PreparedOrder]]:
        """Record the orders of ``group`` that are done; return groups to resend."""
        if answer.kind is Kind.ACCEPTED:
            outcome.accepted.extend(group)
            return []
        if answer.kind is Kind.INVALID_ORDERS:
            rest = _reject_named(group, answer.problems, outcome)
            if len(rest) < len(group):
                logger.info(
                    "batch %d: orders API rejected %d orders; resending the other %d",
                    seq,
                    len(group) - len(rest),
                    len(rest),
                )
                return [rest] if rest else []
            # The envelope names no order of this request, so narrow it down.
        if answer.kind in (Kind.INVALID_ORDERS, Kind.MALFORMED, Kind.TOO_LARGE):
            return _split_or_reject(seq, group, answer, outcome)
        if answer.kind is Kind.UNAUTHORIZED:
            raise FatalSinkError(UNAUTHORIZED_MESSAGE, status=401)
        raise FatalSinkError(
            f"Batch {seq}: the orders API returned HTTP {answer.status}"
            f"{_server_text(answer)}, which retrying will not fix. Check "
            "northbeam.base_url and northbeam.api_version. The high-water mark "
            "was not moved past this batch.",
            status=answer.status,
        )


def _reject_named(
    group: list[PreparedOrder],
    problems: tuple[OrderProblem, ...],
    outcome: BatchOutcome,
) -> list[PreparedOrder]:
    """Reject the orders ``problems`` name; return the others."""
    by_id: dict[str, list[OrderProblem]] = {}
    for problem in problems:
        by_id.setdefault(problem.order_id, []).append(problem)

    rest = []
    for index, order in enumerate(group):
        found = by_id.get(order.order_id)
        if found is None:
            rest.append(order)
        else:
            reject = _envelope_reject(order, found, index)
            outcome.rejected.append((order, reject))
    return rest


def _envelope_reject(
    order: PreparedOrder, problems: list[OrderProblem], index: int
) -> Reject:
    messages = [problem.message for problem in problems[:_MAX_MESSAGES_PER_ORDER]]
    if len(problems) > _MAX_MESSAGES_PER_ORDER:
        messages.append(f"and {len(problems) - _MAX_MESSAGES_PER_ORDER} more")
    path = next((p.json_path for p in problems if p.json_path), None)
    return Reject(
        order_key=order.key,
        stage="api",
        reason="; ".join(messages),
        order_id=order.order_id,
        field_path=_path_in_order(path, index),
    )


def _path_in_order(path: str | None, index: int) -> str | None:
    """Rewrite ``$[3].tax`` to ``$.tax`` when 3 is the order's request index.

    The API's paths point into the request body; a reject's path points
    into the order. A path that starts elsewhere is kept as it came.
    """
    prefix = f"$[{index}]"
    if path is None or not path.startswith(prefix):
        return path
    rest = path[len(prefix) :]
    if rest and rest[0] not in ".[":
        return path
    return "$" + rest


def _split_or_reject(
    seq: int, group: list[PreparedOrder], answer: Answer, outcome: BatchOutcome
) -> list[list[PreparedOrder]]:
    if len(group) > 1:
        logger.info(
            "batch %d: HTTP %d without naming an order for a request of %d "
            "orders; sending each half separately",
            seq,
            answer.status,
            len(group),
        )
        return _halves(group)

    order = group[0]
    outcome.rejected.append((order, _alone_reject(order, answer)))
    return []


def _halves(group: list[PreparedOrder]) -> list[list[PreparedOrder]]:
    """Split ``group`` in two, the first half last so that it is sent first."""
    middle = len(group) // 2
    return [group[middle:], group[:middle]]


def _alone_reject(order: PreparedOrder, answer: Answer) -> Reject:
    if answer.kind is Kind.TOO_LARGE:
        reason = (
            "the orders API returned HTTP 413 (payload too large) for this "
            f"order alone, a request body of {request_body_size([order])} "
            "bytes; send fewer products or shorter fields"
        )
    else:
        reason = (
            f"the orders API returned HTTP {answer.status} for this order "
            f"alone without naming a field{_server_text(answer)}"
        )
    return Reject(
        order_key=order.key, stage="api", reason=reason, order_id=order.order_id
    )


def _server_text(answer: Answer) -> str:
    if not answer.message:
        return ""
    return f' (server message: "{answer.message}")'
