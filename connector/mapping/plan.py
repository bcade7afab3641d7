"""Check a parsed mapping against the Orders API fields and compile it.

The result, a :class:`Plan`, contains the source specs to read and one compiled
rule per mapped field. Problems are collected with their YAML lines so the
user sees all of them at once.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from connector.mapping import catalogue
from connector.mapping.model import ChildBlock, FieldRule, MappingFile
from connector.mapping.rules import CompiledRule, RuleError, compile_rule
from connector.mapping.yaml_lines import LineIndex, Loc, Problem
from connector.source.spec import Relation, SourceSpec

#: Child blocks in the order they appear in the document.
CHILDREN = ("products", "refunds")


@dataclass(frozen=True)
class ChildPlan:
    """Compiled ``products`` or ``refunds`` block.

    ``spec`` is None when the items come from ``column``, a JSON or array
    column of the order row.
    """

    name: str
    rules: tuple[CompiledRule, ...]
    spec: SourceSpec | None
    column: str | None
    line: int


@dataclass(frozen=True)
class Plan:
    """Everything the mapper needs per row, compiled once."""

    orders_spec: SourceSpec
    order_rules: tuple[CompiledRule, ...]
    identity_rules: tuple[CompiledRule, ...]
    address_rules: tuple[CompiledRule, ...]
    children: tuple[ChildPlan, ...]
    #: Source name ("orders", "products", "refunds") to (column, YAML line).
    columns: dict[str, list[tuple[str, int]]]


@dataclass
class _Builder:
    model: MappingFile
    index: LineIndex
    api_version: str
    problems: list[Problem] = field(default_factory=list)
    columns: dict[str, list[tuple[str, int]]] = field(default_factory=dict)

    def problem(self, loc: Loc, message: str) -> None:
        self.problems.append(Problem(self.index.line_of(loc), message))

    def use_column(self, source: str, column: str | None, loc: Loc) -> None:
        if column is None:
            return
        used = self.columns.setdefault(source, [])
        if all(name != column for name, _ in used):
            used.append((column, self.index.line_of(loc)))

    def column_names(self, source: str) -> tuple[str, ...]:
        """Return the columns that rules of ``source`` read, for its SELECT list."""
        return tuple(name for name, _ in self.columns.get(source, []))

    def rule(
        self,
        rule: FieldRule,
        loc: Loc,
        *,
        kind: str,
        source: str | None,
        expressions: list[tuple[str, str]] | None,
        required: bool = False,
    ) -> CompiledRule | None:
        """Compile one rule. A ``sql:`` rule adds an expression to its source.

        ``source`` None marks rules that read keys of JSON items, whose
        ``column`` is not a warehouse column.
        """
        alias = None
        if rule.sql is not None and expressions is not None:
            alias = f"__expr_{len(expressions)}"
            expressions.append((alias, rule.sql))
        if source is not None:
            self.use_column(source, rule.column, (*loc, "column"))
        try:
            return compile_rule(
                rule,
                name=str(loc[-1]),
                label=".".join(str(part) for part in loc),
                kind=kind,
                line=self.index.line_of(loc),
                zone=self.model.timezone,
                required=required,
                alias=alias,
            )
        except RuleError as exc:
            self.problems.append(Problem(exc.line, exc.message))
            return None


def compile_plan(
    model: MappingFile, index: LineIndex, api_version: str
) -> tuple[Plan | None, list[Problem]]:
    """Check ``model`` for ``api_version`` and compile it.

    Returns the plan, or None with the problems found.
    """
    builder = _Builder(model, index, api_version)
    expressions: list[tuple[str, str]] = []
    orders = model.orders
    for loc_key in ("key", "cursor", "cursor_fallback"):
        builder.use_column("orders", getattr(orders, loc_key), ("orders", loc_key))

    order_rules = _order_rules(builder, expressions)
    identity_rules = _identity_rules(builder, expressions)
    address_rules = _address_rules(builder, expressions)
    children = tuple(
        child for name in CHILDREN if (child := _child(builder, name)) is not None
    )
    if model.products is None:
        builder.problem(
            (),
            "products is missing, but the Orders API requires at least one product "
            "per order. Add a products: block with table, query, model or "
            "column, and fields id, name, quantity and price.",
        )

    orders_spec = SourceSpec(
        relation=Relation(table=orders.table, query=orders.query, model=orders.model),
        key=orders.key,
        cursor=orders.cursor,
        cursor_fallback=orders.cursor_fallback,
        where=orders.where,
        expressions=tuple(expressions),
        columns=builder.column_names("orders"),
    )
    if builder.problems:
        return None, builder.problems
    plan = Plan(
        orders_spec=orders_spec,
        order_rules=order_rules,
        identity_rules=identity_rules,
        address_rules=address_rules,
        children=children,
        columns=builder.columns,
    )
    return plan, []


def _order_rules(
    builder: _Builder, expressions: list[tuple[str, str]]
) -> tuple[CompiledRule, ...]:
    api_version = builder.api_version
    known = catalogue.order_fields(api_version)
    required = catalogue.order_required(api_version)
    compiled: list[CompiledRule] = []

    for name, rule in builder.model.fields.items():
        loc = ("fields", name)
        if name not in known:
            builder.problem(loc, _unknown_order_field(name, known, api_version))
            continue
        result = builder.rule(
            rule,
            loc,
            kind=known[name],
            source="orders",
            expressions=expressions,
            required=name in required,
        )
        if result is not None:
            compiled.append(result)

    for name in required:
        if name not in builder.model.fields:
            builder.problem(
                ("fields",),
                f"required field {name} is not mapped, but the Orders API "
                f"{api_version} requires it. Add {name}: under fields:, with a "
                "column, value or sql.",
            )
    return tuple(compiled)


def _unknown_order_field(name: str, known: dict[str, str], api_version: str) -> str:
    if name in catalogue.IDENTITY_FIELDS:
        # A short identity name (email, phone) written under fields:.
        target = f"identity: {name}"
        return (
            f"fields.{name}: emails and phone numbers are personal data and "
            "are mapped under identity:, so that they are hashed before "
            f"sending. Map the column under {target} instead."
        )
    if name in catalogue.IDENTITY_API_FIELDS:
        target = catalogue.IDENTITY_API_FIELDS[name]
        return (
            f"fields.{name}: emails and phone numbers are personal data and "
            "are not mapped under fields:, so that they are hashed before "
            f"sending. Map the column under {target} instead."
        )
    if name in catalogue.BLOCK_FIELDS:
        return (
            f"fields.{name} is not a field rule. Write it as the top-level "
            f"block {catalogue.BLOCK_FIELDS[name]}"
        )
    if api_version == "v1" and catalogue.is_v2_only("fields", name):
        return (
            f"fields.{name} exists only in Orders API v2. Set "
            "northbeam.api_version: v2 in the config, or remove it."
        )
    return _unknown_name(
        f"fields.{name}", name, known, f"order field for API {api_version}"
    )


def _unknown_name(label: str, name: str, known: dict[str, str], what: str) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" Did you mean {close[0]}?" if close else ""
    return f"{label} is not a Northbeam {what}.{hint} Valid names: {', '.join(known)}."


def _identity_rules(
    builder: _Builder, expressions: list[tuple[str, str]]
) -> tuple[CompiledRule, ...]:
    compiled: list[CompiledRule] = []
    identity = builder.model.identity
    for name, kind in catalogue.IDENTITY_FIELDS.items():
        rule = getattr(identity, name)
        if rule is None:
            continue
        result = builder.rule(
            rule,
            ("identity", name),
            kind=kind,
            source="orders",
            expressions=expressions,
        )
        if result is not None:
            compiled.append(result)
    return tuple(compiled)


def _address_rules(
    builder: _Builder, expressions: list[tuple[str, str]]
) -> tuple[CompiledRule, ...]:
    address = builder.model.shipping_address
    if address is None:
        return ()
    known = catalogue.ADDRESS_FIELDS
    compiled: list[CompiledRule] = []
    for name, rule in address.items():
        loc = ("shipping_address", name)
        if name not in known:
            builder.problem(
                loc,
                _unknown_name(f"shipping_address.{name}", name, known, "address field"),
            )
            continue
        result = builder.rule(
            rule, loc, kind=known[name], source="orders", expressions=expressions
        )
        if result is not None:
            compiled.append(result)
    for name in catalogue.ADDRESS_REQUIRED:
        if name not in address:
            builder.problem(
                ("shipping_address",),
                f"shipping_address.{name} is not mapped, but the Orders API requires "
                "zip and country_code in every address. Map it, or remove "
                "shipping_address:.",
            )
    return tuple(compiled)


def _child(builder: _Builder, name: str) -> ChildPlan | None:
    block: ChildBlock | None = getattr(builder.model, name)
    if block is None:
        return None
    from_column = block.is_column
    expressions: list[tuple[str, str]] | None = None if from_column else []
    source = "orders" if from_column else name
    builder.use_column(source, block.column, (name, "column"))
    for loc_key in ("key", "cursor", "cursor_fallback"):
        builder.use_column(name, getattr(block, loc_key), (name, loc_key))

    rules = _child_rules(builder, name, block, expressions, source)
    spec = None
    if not from_column and block.key is not None:
        spec = SourceSpec(
            relation=Relation(table=block.table, query=block.query, model=block.model),
            key=block.key,
            cursor=block.cursor,
            cursor_fallback=block.cursor_fallback,
            where=block.where,
            expressions=tuple(expressions or ()),
            columns=builder.column_names(name),
        )
    line = builder.index.line_of((name,))
    return ChildPlan(name, rules, spec, block.column, line)


def _child_rules(
    builder: _Builder,
    name: str,
    block: ChildBlock,
    expressions: list[tuple[str, str]] | None,
    source: str,
) -> tuple[CompiledRule, ...]:
    api_version = builder.api_version
    known = catalogue.child_fields(name, api_version)
    required = catalogue.child_required(name)
    compiled: list[CompiledRule] = []

    for field_name, rule in block.fields.items():
        loc = (name, "fields", field_name)
        if field_name not in known:
            builder.problem(
                loc, _unknown_child_field(name, field_name, known, api_version)
            )
            continue
        if expressions is None and rule.sql is not None:
            builder.problem(
                loc,
                f"{name}.fields.{field_name}: sql: cannot be used when {name} "
                "come from a column, because the items are read from a JSON "
                "value, not by SQL. Use column: with the item's key.",
            )
            continue
        # Inside a JSON column, ``column`` names the item's key, not a
        # warehouse column, so it is not listed for the check command.
        result = builder.rule(
            rule,
            loc,
            kind=known[field_name],
            source=None if expressions is None else source,
            expressions=expressions,
            required=field_name in required,
        )
        if result is not None:
            compiled.append(result)

    for field_name in required:
        if field_name not in block.fields:
            builder.problem(
                (name, "fields"),
                f"{name}.fields.{field_name} is not mapped, but the Orders API "
                f"requires it in every item of {name}. Add it with a column, "
                "value or sql.",
            )
    return tuple(compiled)


def _unknown_child_field(
    child: str, name: str, known: dict[str, str], api_version: str
) -> str:
    label = f"{child}.fields.{name}"
    if api_version == "v1" and catalogue.is_v2_only(child, name):
        return (
            f"{label} exists only in Orders API v2. Set northbeam.api_version: "
            "v2 in the config, or remove it."
        )
    item = "product" if child == "products" else "refund"
    return _unknown_name(label, name, known, f"{item} field for API {api_version}")
