"""Check outgoing order documents before they are sent.

An order that breaks the Orders API contract would make the API reject its
whole batch, so it is turned into a :class:`Reject` here instead. Reasons
name JSON paths and rules, never the values found there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError

from connector.records import Reject
from connector.validate.checks import check_order
from connector.validate.models import V2_ONLY_PATHS, OrderV1, OrderV2

API_VERSIONS: Final = ("v1", "v2")

_ADAPTERS: Final[dict[str, TypeAdapter[Any]]] = {
    "v1": TypeAdapter(OrderV1),
    "v2": TypeAdapter(OrderV2),
}
_INDEX = re.compile(r"\[\d+\]")


@dataclass(frozen=True, slots=True)
class Problem:
    """One broken rule of an order: where, and what is wrong."""

    path: str
    message: str


@dataclass
class ServerRule:
    """A rule the API enforced with a 400 in this run, keyed by JSON path.

    ``json_path`` has list positions replaced by ``[*]``. ``count`` is how
    many orders the API rejected on it.
    """

    json_path: str
    message: str
    count: int = 1


def validate_order(document: dict[str, Any], api_version: str) -> list[Problem]:
    """Return every problem of ``document`` under Orders API ``api_version``.

    Raises:
        ValueError: ``api_version`` is not v1 or v2.
    """
    return _find_problems(_adapter(api_version), api_version, document)


class OrderValidator:
    """Validate documents for one API version and record rules the API enforced.

    Server rules are only recorded, for the run report: the validator does
    not turn them into checks, because a 400 message does not say which
    values the API would accept.
    """

    def __init__(self, api_version: str) -> None:
        self.api_version = api_version
        self._adapter = _adapter(api_version)
        self._server_rules: dict[tuple[str, str], ServerRule] = {}

    def check(self, key: str, document: dict[str, Any]) -> Reject | None:
        """Return a validation reject naming every problem, or None if valid."""
        result = self.validate(key, document)
        return result if isinstance(result, Reject) else None

    def validate(self, key: str, document: dict[str, Any]) -> dict[str, Any] | Reject:
        """Return the order ready to write as JSON, or a reject naming every problem.

        The returned dict is a new one: keys in the order of the Orders API
        model and money as ``int`` or ``float``, the numbers sent.
        """
        validated, problems = _validate(self._adapter, self.api_version, document)
        if validated is not None and not problems:
            return validated

        order_id = document.get("order_id")
        return Reject(
            order_key=key,
            stage="validation",
            reason="; ".join(f"{p.path}: {p.message}" for p in problems),
            order_id=order_id if isinstance(order_id, str) else None,
            field_path=problems[0].path,
        )

    def add_server_rule(self, json_path: str, message: str) -> None:
        """Record that the API rejected an order at ``json_path`` with ``message``.

        ``message`` must be the API's message, which names the rule and not
        the rejected value.
        """
        path = _INDEX.sub("[*]", json_path)
        rule = self._server_rules.get((path, message))
        if rule is None:
            self._server_rules[(path, message)] = ServerRule(path, message)
        else:
            rule.count += 1

    @property
    def server_rules(self) -> list[ServerRule]:
        """Rules recorded with :meth:`add_server_rule`, in the order first seen."""
        return list(self._server_rules.values())


def _adapter(api_version: str) -> TypeAdapter[Any]:
    try:
        return _ADAPTERS[api_version]
    except KeyError:
        raise ValueError(
            f"unknown Orders API version {api_version!r}; use v1 or v2"
        ) from None


def _find_problems(
    adapter: TypeAdapter[Any], api_version: str, document: dict[str, Any]
) -> list[Problem]:
    return _validate(adapter, api_version, document)[1]


def _validate(
    adapter: TypeAdapter[Any], api_version: str, document: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[Problem]]:
    """Return the validated copy of ``document`` (None if invalid) and every problem."""
    validated: dict[str, Any] | None = None
    problems: list[Problem] = []
    try:
        # The adapter's core validator directly: TypeAdapter.validate_python
        # only adds argument handling, about a microsecond per order.
        validated = adapter.validator.validate_python(document)
    except ValidationError as exc:
        problems.extend(_schema_problems(exc, api_version))
    problems.extend(Problem(path, message) for path, message in check_order(document))
    return validated, problems


def _schema_problems(exc: ValidationError, api_version: str) -> list[Problem]:
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        path = _json_path(error["loc"])
        message = str(error["msg"])
        if error["type"] == "extra_forbidden":
            message = _extra_key_message(path, api_version)
        elif error["type"] == "too_short" and path == "$.products":
            message = "must have at least one product, or the API rejects the order"
        elif error["type"] == "missing":
            message = "is required but missing"
        problems.append(Problem(path, message))
    return problems


def _extra_key_message(path: str, api_version: str) -> str:
    if api_version == "v1" and _INDEX.sub("[*]", path) in V2_ONLY_PATHS:
        return "is accepted only by Orders API v2. Remove it or switch to v2"
    return "is not a field of the Orders API. Remove it"


def _json_path(loc: tuple[int | str, ...]) -> str:
    parts = ["$"]
    for part in loc:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts)
