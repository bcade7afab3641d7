"""Loading mapping files: every error names its file and line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from connector.errors import MappingError
from connector.mapping import OrderMapper, load_mapping
from connector.transform.identity import IdentityPolicy

Writer = Callable[[str], Path]


def load_error(path: Path, api_version: str = "v1") -> MappingError:
    with pytest.raises(MappingError) as caught:
        load_mapping(path, api_version)
    return caught.value


def test_base_mapping_loads(write_mapping: Writer, base_mapping: str) -> None:
    mapping = load_mapping(write_mapping(base_mapping), "v1")
    assert mapping.api_version == "v1"
    assert mapping.model.timezone == "America/New_York"


def test_column_names_are_lowercased(write_mapping: Writer, base_mapping: str) -> None:
    text = base_mapping.replace("{column: name}", "{column: Customer_NAME}")
    mapper = OrderMapper(load_mapping(write_mapping(text), "v1"))
    assert mapper.orders_spec.key == "id"
    assert mapper.orders_spec.cursor == "updated_at"
    assert ("customer_name", 16) in mapper.referenced_columns()["orders"]


def test_sql_rules_become_expressions(write_mapping: Writer, base_mapping: str) -> None:
    mapper = OrderMapper(load_mapping(write_mapping(base_mapping), "v1"))
    assert mapper.orders_spec.expressions == (
        ("__expr_0", "case when status = 'returned' then 'returned' end"),
    )


def test_referenced_columns_carry_lines(
    write_mapping: Writer, base_mapping: str
) -> None:
    columns = OrderMapper(
        load_mapping(write_mapping(base_mapping), "v1")
    ).referenced_columns()
    assert columns["orders"][:3] == [("id", 4), ("updated_at", 5), ("customer", 9)]
    assert ("total_cents", 12) in columns["orders"]
    assert ("email", 19) in columns["orders"]
    assert columns["products"] == [
        ("order_id", 28),
        ("sku", 30),
        ("title", 31),
        ("qty", 32),
        ("price", 33),
    ]


def test_child_specs_hold_table_children(
    write_mapping: Writer, base_mapping: str
) -> None:
    mapper = OrderMapper(load_mapping(write_mapping(base_mapping), "v1"))
    spec = mapper.child_specs["products"]
    assert spec.relation.table == "items"
    assert spec.key == "order_id"


def test_fingerprint_ignores_comments_and_layout(
    write_mapping: Writer, base_mapping: str
) -> None:
    first = load_mapping(write_mapping(base_mapping), "v1").fingerprint
    text = "# a comment\n" + base_mapping.replace(
        "order_id: id", "order_id:   {column: ID}"
    )
    second = load_mapping(write_mapping(text), "v1").fingerprint
    assert first == second
    assert len(first) == 64


def test_fingerprint_changes_with_meaning(
    write_mapping: Writer, base_mapping: str
) -> None:
    first = load_mapping(write_mapping(base_mapping), "v1").fingerprint
    text = base_mapping.replace("unit: major", "unit: cents")
    assert load_mapping(write_mapping(text), "v1").fingerprint != first


def test_identity_policy_from_identity_block(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace(
        "  phone_region: {column: country}\n",
        "  phone_region: {column: country}\n"
        "  default_region: gb\n"
        "  send_raw_email: true\n",
    )
    policy = load_mapping(write_mapping(text), "v1").identity_policy
    assert policy == IdentityPolicy(
        send_raw_email=True, send_raw_phone=False, default_region="GB"
    )


def test_identity_policy_defaults(write_mapping: Writer, base_mapping: str) -> None:
    policy = load_mapping(write_mapping(base_mapping), "v1").identity_policy
    assert policy == IdentityPolicy()


def test_unknown_top_level_key_suggests_fix(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace(
        "timezone: America/New_York", "timezon: America/New_York"
    )
    error = load_error(write_mapping(text))
    assert error.line == 6
    assert ", line 6: unknown key 'timezon'" in str(error)
    assert "Did you mean timezone?" in str(error)


def test_unknown_rule_key_suggests_fix(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace("{column: customer}", "{colum: customer}")
    error = load_error(write_mapping(text))
    assert error.line == 9
    assert "Did you mean column?" in str(error)
    assert str(error).startswith(f"{error.path}, line 9: ")


def test_rule_without_source_is_rejected(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace("{column: total_cents, unit: cents}", "{unit: cents}")
    error = load_error(write_mapping(text))
    assert error.line == 12
    assert "exactly one of column, value or sql (found none of them)" in str(error)


def test_rule_with_two_sources_is_rejected(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace("{value: USD}", "{value: USD, column: currency}")
    error = load_error(write_mapping(text))
    assert error.line == 11
    assert "found column, value" in str(error)


def test_unknown_northbeam_field_suggests_fix(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace("  customer_name:", "  custmer_name:")
    error = load_error(write_mapping(text))
    assert error.line == 16
    assert "fields.custmer_name is not a Northbeam order field for API v1" in str(error)
    assert "Did you mean customer_name?" in str(error)


def test_v2_field_under_v1_names_the_version(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace(
        "fields:\n  order_id", "fields:\n  shipping_cost: {value: 0}\n  order_id", 1
    )
    error = load_error(write_mapping(text))
    assert error.line == 8
    assert "exists only in Orders API v2" in str(error)
    assert load_mapping(write_mapping(text), "v2").api_version == "v2"


def test_v2_requires_shipping_cost(write_mapping: Writer, base_mapping: str) -> None:
    error = load_error(write_mapping(base_mapping), "v2")
    assert error.line == 7
    assert "required field shipping_cost is not mapped" in str(error)


@pytest.mark.parametrize(
    "field", ["order_id", "customer_id", "time_of_purchase", "currency", "tax"]
)
def test_required_field_missing_is_reported(
    write_mapping: Writer, base_mapping: str, field: str
) -> None:
    lines = [
        line for line in base_mapping.splitlines() if not line.startswith(f"  {field}:")
    ]
    error = load_error(write_mapping("\n".join(lines) + "\n"))
    assert f"required field {field} is not mapped" in str(error)
    assert error.line == 7


def test_missing_products_is_reported(write_mapping: Writer, base_mapping: str) -> None:
    text = base_mapping[: base_mapping.index("products:")]
    error = load_error(write_mapping(text))
    assert "products is missing" in str(error)


def test_missing_product_field_is_reported(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace("    quantity: {column: qty}\n", "")
    error = load_error(write_mapping(text))
    assert error.line == 29
    assert "products.fields.quantity is not mapped" in str(error)


def test_invalid_timezone_is_reported(write_mapping: Writer, base_mapping: str) -> None:
    text = base_mapping.replace("America/New_York", "America/New_Yrok")
    error = load_error(write_mapping(text))
    assert error.line == 6
    assert "unknown time zone 'America/New_Yrok'" in str(error)
    assert "IANA" in str(error)


def test_invalid_rule_timezone_is_reported(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace(
        "{column: ordered_at}", "{column: ordered_at, timezone: Mars/Base}"
    )
    error = load_error(write_mapping(text))
    assert error.line == 10
    assert "unknown time zone 'Mars/Base'" in str(error)


def test_invalid_unit_is_reported(write_mapping: Writer, base_mapping: str) -> None:
    text = base_mapping.replace("unit: major", "unit: dollars")
    error = load_error(write_mapping(text))
    assert error.line == 13
    assert "fields.tax.unit" in str(error)
    assert "'cents' or 'major'" in str(error)


def test_unit_on_non_money_field_is_reported(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace("{column: customer}", "{column: customer, unit: cents}")
    error = load_error(write_mapping(text))
    assert error.line == 9
    assert "unit applies only to money fields" in str(error)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("{column: name}", "{column: name, unit: cents}", "unit applies only to money"),
        (
            "{column: tax, unit: major}",
            "{column: tax, split: ','}",
            "split applies only",
        ),
        (
            "{column: tax, unit: major}",
            "{column: tax, timezone: UTC}",
            "timezone applies only",
        ),
        (
            "{column: name}",
            "{column: name, type: boolean}",
            "type boolean does not fit",
        ),
    ],
)
def test_option_on_wrong_field_is_reported(
    write_mapping: Writer, base_mapping: str, old: str, new: str, message: str
) -> None:
    error = load_error(write_mapping(base_mapping.replace(old, new)))
    assert message in str(error)
    assert error.line in (13, 16)


def test_v2_product_field_under_v1_is_reported(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping + "    variant_id: {column: variant}\n"
    error = load_error(write_mapping(text))
    assert error.line == 34
    assert "products.fields.variant_id exists only in Orders API v2" in str(error)


def test_child_without_source_is_reported(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace("  table: items\n", "")
    error = load_error(write_mapping(text))
    assert error.line == 26
    assert "needs exactly one of table, query, model or column" in str(error)


def test_child_table_without_key_is_reported(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace("  key: order_id\n", "")
    error = load_error(write_mapping(text))
    assert error.line == 26
    assert "key is missing" in str(error)


@pytest.mark.parametrize(
    ("field", "target"),
    [
        ("customer_email", "identity: email"),
        ("customer_phone_number", "identity: phone"),
        ("hashed_customer_email", "identity: email_sha256"),
        ("hashed_customer_phone_number", "identity: phone_sha256"),
        ("email", "identity: email"),
        ("phone", "identity: phone"),
    ],
)
def test_personal_fields_under_fields_point_to_identity(
    write_mapping: Writer, base_mapping: str, field: str, target: str
) -> None:
    text = base_mapping.replace(
        "  customer_name: {column: name}", f"  {field}: {{column: e}}"
    )
    error = load_error(write_mapping(text))
    assert error.line == 16
    assert f"Map the column under {target} instead" in str(error)


def test_sql_inside_json_column_child_is_reported(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace(
        "  table: items\n  key: order_id\n", "  column: line_items\n"
    )
    text = text.replace("{column: title}", "{sql: upper(title)}")
    error = load_error(write_mapping(text))
    assert error.line == 30
    assert "sql: cannot be used" in str(error)


def test_key_with_json_column_child_is_reported(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace("  table: items\n", "  column: line_items\n")
    error = load_error(write_mapping(text))
    assert error.line == 26
    assert "key cannot be used with column:" in str(error)


def test_invalid_constant_is_reported(write_mapping: Writer, base_mapping: str) -> None:
    text = base_mapping.replace("{column: total_cents, unit: cents}", "{value: lots}")
    error = load_error(write_mapping(text))
    assert error.line == 12
    assert "fields.purchase_total: the value: is text that is not a number" in str(
        error
    )


def test_invalid_default_is_reported(write_mapping: Writer, base_mapping: str) -> None:
    text = base_mapping.replace("default: false", "default: perhaps")
    error = load_error(write_mapping(text))
    assert error.line == 17
    assert "the default:" in str(error)


def test_duplicate_key_is_reported(write_mapping: Writer, base_mapping: str) -> None:
    text = base_mapping.replace(
        "  tax: {column: tax, unit: major}\n",
        "  tax: {column: tax}\n  tax: {column: vat}\n",
    )
    error = load_error(write_mapping(text))
    assert error.line == 14
    assert "'tax' appears twice (first on line 13)" in str(error)


def test_yaml_syntax_error_names_line(write_mapping: Writer, base_mapping: str) -> None:
    text = base_mapping.replace("{value: USD}", "{value: USD")
    error = load_error(write_mapping(text))
    assert error.line is not None
    assert "invalid YAML" in str(error)


def test_non_mapping_file_is_reported(write_mapping: Writer) -> None:
    error = load_error(write_mapping("- just\n- a list\n"))
    assert "must be a YAML mapping" in str(error)


def test_missing_file_is_reported(tmp_path: Path) -> None:
    error = load_error(tmp_path / "absent.yaml")
    assert "cannot read the mapping file" in str(error)


def test_all_problems_are_listed_at_once(
    write_mapping: Writer, base_mapping: str
) -> None:
    text = base_mapping.replace("  customer_name:", "  custmer_name:")
    text = text.replace(
        "    price: {column: price, unit: cents}", "    prise: {column: price}"
    )
    error = load_error(write_mapping(text))
    message = str(error)
    assert ", line 16: " in message
    assert ", line 33: " in message
    assert "Did you mean price?" in message


def test_unknown_api_version_is_reported(
    write_mapping: Writer, base_mapping: str
) -> None:
    error = load_error(write_mapping(base_mapping), "v3")
    assert "unknown Orders API version" in str(error)


def test_shipped_mappings_load() -> None:
    mappings = Path(__file__).resolve().parents[2] / "mappings"
    jaffle = load_mapping(mappings / "jaffle_shop.yaml", "v1")
    shopify = load_mapping(mappings / "shopify_fivetran.yaml", "v2")
    assert jaffle.model.timezone == "America/New_York"
    assert set(OrderMapper(shopify).child_specs) == {"products", "refunds"}
