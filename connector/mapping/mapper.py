"""Apply a compiled mapping to warehouse rows: one order row plus its children.

:meth:`OrderMapper.map` returns a :class:`MappedOrder` whose document holds
the Northbeam fields (money as ``Decimal``, timestamps as ISO-8601 text, no
``None`` values) and whose :class:`Identity` contains the raw email and phone
for hashing, or a :class:`Reject` that names every problem of the order.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connector.errors import MappingError
from connector.mapping.convert import ConversionError
from connector.mapping.loader import OrderMapping
from connector.mapping.plan import ChildPlan
from connector.mapping.rules import CompiledRule
from connector.records import Identity, MappedOrder, Reject
from connector.source.spec import SourceSpec

Row = Mapping[str, Any]

#: JSON path of the document field that an identity rule feeds.
_IDENTITY_PATHS = {
    "email": "$.customer_email",
    "email_sha256": "$.hashed_customer_email",
    "phone": "$.customer_phone_number",
    "phone_sha256": "$.hashed_customer_phone_number",
    "phone_region": "$.customer_phone_number",
}


@dataclass
class MapperStats:
    """Counts of one run; they never contain values."""

    #: Addresses left out because zip or country_code was NULL.
    addresses_incomplete: int = 0


class OrderMapper:
    """Turn rows into Northbeam order documents, following one mapping.

    ``orders_spec`` and ``child_specs`` describe what to read. ``child_specs``
    contains the products and refunds read from tables, queries or models;
    items read from a JSON column of the order row have no spec.
    """

    def __init__(self, mapping: OrderMapping) -> None:
        self.mapping = mapping
        plan = mapping.plan
        self.orders_spec: SourceSpec = plan.orders_spec
        self.child_specs: dict[str, SourceSpec] = {
            child.name: child.spec for child in plan.children if child.spec is not None
        }
        self.stats = MapperStats()
        self._plan = plan
        self._key = plan.orders_spec.key
        self._cursor = plan.orders_spec.cursor
        self._unchecked = {"orders", *self.child_specs}
        self._sort_keys = {child.name: _sort_key(child.name) for child in plan.children}

    def referenced_columns(self) -> dict[str, list[tuple[str, int]]]:
        """Return the columns each source must have, with their YAML lines.

        Keys are ``orders``, ``products`` and ``refunds``. Expression aliases
        of ``sql:`` rules are not listed.
        """
        return {source: list(cols) for source, cols in self._plan.columns.items()}

    def map(
        self, row: Row, children: Mapping[str, list[dict[str, Any]]]
    ) -> MappedOrder | Reject:
        """Map one order row and its child rows, grouped by source name.

        Raises:
            MappingError: the first row of a source lacks a column that the
                mapping names, so every row would fail the same way.
        """
        if "orders" in self._unchecked:
            self._check_columns("orders", row, self.orders_spec)
        raw_key = row.get(self._key)
        if raw_key is None:
            return Reject(
                order_key="",
                stage="mapping",
                reason=f"the order key column {self._key} is NULL. Filter such rows "
                "out with orders.where, or fix the source data.",
            )
        key = str(raw_key)
        problems: list[tuple[str, str]] = []
        document = self._document(row, children, problems)
        identity = self._identity(row, problems)
        if problems:
            return _reject(key, document, problems)

        cursor = row["__cursor"] if "__cursor" in row else row.get(self._cursor or "")
        return MappedOrder(key=key, cursor=cursor, document=document, identity=identity)

    def _document(
        self,
        row: Row,
        children: Mapping[str, list[dict[str, Any]]],
        problems: list[tuple[str, str]],
    ) -> dict[str, Any]:
        document: dict[str, Any] = {}
        _fill(document, self._plan.order_rules, row, "", problems)

        address = self._address(row, problems)
        if address is not None:
            document["customer_shipping_address"] = address

        for child in self._plan.children:
            items = self._items(child, row, children.get(child.name, []), problems)
            if items or child.name == "products":
                document[child.name] = items
        return document

    def _address(
        self, row: Row, problems: list[tuple[str, str]]
    ) -> dict[str, Any] | None:
        rules = self._plan.address_rules
        if not rules:
            return None
        address: dict[str, Any] = {}
        _fill(address, rules, row, "customer_shipping_address.", problems)
        if not address:
            return None
        if "zip" not in address or "country_code" not in address:
            # Because the API requires both, an address without them is left
            # out rather than rejecting an order that is otherwise valid.
            self.stats.addresses_incomplete += 1
            return None
        return address

    def _items(
        self,
        child: ChildPlan,
        row: Row,
        rows: list[dict[str, Any]],
        problems: list[tuple[str, str]],
    ) -> list[dict[str, Any]]:
        if child.column is not None:
            rows = _json_items(child, row, problems)
        elif rows and child.name in self._unchecked and child.spec is not None:
            self._check_columns(child.name, rows[0], child.spec)

        before = len(problems)
        items: list[dict[str, Any]] = []
        for position, child_row in enumerate(rows):
            item: dict[str, Any] = {}
            _fill(item, child.rules, child_row, f"{child.name}[{position}].", problems)
            items.append(item)
        if len(problems) == before:
            # Rows arrive in no guaranteed order, so sorting keeps the document,
            # and with it the fingerprint, the same from run to run.
            items.sort(key=self._sort_keys[child.name])
        return items

    def _identity(self, row: Row, problems: list[tuple[str, str]]) -> Identity:
        identity = Identity()
        for rule in self._plan.identity_rules:
            try:
                value = rule.extract(row)
            except ConversionError as exc:
                path = _IDENTITY_PATHS[rule.name]
                problems.append(
                    (
                        path,
                        f"identity.{rule.name} in {rule.origin} {exc}. Fix the "
                        f"data or the rule on line {rule.line}",
                    )
                )
                continue
            if value is not None:
                setattr(identity, rule.name, value)
        return identity

    def _check_columns(self, source: str, row: Row, spec: SourceSpec) -> None:
        self._unchecked.discard(source)
        wanted = list(self._plan.columns.get(source, []))
        wanted += [(alias, 0) for alias, _ in spec.expressions]
        missing = [(name, line) for name, line in wanted if name not in row]
        if not missing:
            return
        path = str(self.mapping.path)
        lines = [
            f"column {name} is not in the rows read for {source}"
            + (f" (line {line})" if line else "")
            for name, line in missing
        ]
        raise MappingError(
            "; ".join(lines) + ". Check the spelling, or add the column to "
            f"the {source} query.",
            path=path,
            line=missing[0][1] or None,
        )


def _fill(
    target: dict[str, Any],
    rules: tuple[CompiledRule, ...],
    row: Row,
    prefix: str,
    problems: list[tuple[str, str]],
) -> None:
    """Set ``target[name]`` for every rule whose value is not NULL.

    ``prefix`` is the JSON path of ``target`` for messages, such as
    ``products[2].``. This loop runs for every field of every order, so it
    stays inline, applies plain column rules without calling ``extract``,
    and formats messages only when a problem occurs.
    """
    for rule in rules:
        try:
            convert = rule.convert
            if convert is None:
                value = rule.extract(row)
            else:
                value = row.get(rule.key)
                if value is not None:
                    value = convert(value)
        except ConversionError as exc:
            problems.append(_conversion_problem(rule, prefix, exc))
            continue
        if value is not None:
            target[rule.name] = value
        elif rule.required:
            problems.append(_null_problem(rule, prefix))


def _conversion_problem(
    rule: CompiledRule, prefix: str, exc: ConversionError
) -> tuple[str, str]:
    label = prefix + rule.name
    return (
        f"$.{label}",
        f"{label} in {rule.origin} {exc}. Fix the data or the rule on line {rule.line}",
    )


def _null_problem(rule: CompiledRule, prefix: str) -> tuple[str, str]:
    label = prefix + rule.name
    return (
        f"$.{label}",
        f"{label} is NULL in {rule.origin}. Fix the source data, or set "
        f"default: in the rule on line {rule.line}",
    )


def _json_items(
    child: ChildPlan, row: Row, problems: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    column = child.column or ""
    value = row.get(column)
    path = f"$.{child.name}"
    if value is None:
        return []
    if isinstance(value, str):
        if not value.strip():
            return []
        try:
            value = json.loads(value)
        except ValueError:
            problems.append((path, f"column {column} is not valid JSON"))
            return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list | tuple):
        problems.append(
            (path, f"column {column} is a {type(value).__name__}, not a JSON array")
        )
        return []

    items: list[dict[str, Any]] = []
    for position, element in enumerate(value):
        if not isinstance(element, dict):
            problems.append(
                (
                    f"{path}[{position}]",
                    f"an item of column {column} is not a JSON object",
                )
            )
            continue
        # Item keys are matched case-insensitively, like column names.
        items.append({str(name).lower(): item for name, item in element.items()})
    return items


def _sort_key(child: str) -> Any:
    if child == "products":
        return lambda item: (str(item.get("id", "")), str(item.get("variant_id", "")))
    return lambda item: (
        str(item.get("refund_made_at", "")),
        str(item.get("product_id", "")),
        str(item.get("variant_id", "")),
    )


def _reject(
    key: str, document: dict[str, Any], problems: list[tuple[str, str]]
) -> Reject:
    order_id = document.get("order_id")
    return Reject(
        order_key=key,
        stage="mapping",
        reason="; ".join(message for _, message in problems),
        order_id=order_id if isinstance(order_id, str) else None,
        field_path=problems[0][0],
    )
