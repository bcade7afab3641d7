"""Model names resolved through a dbt manifest written by the test."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from connector.errors import SourceError
from connector.source.dbt import DbtProject


def model(package: str, name: str, **extra: Any) -> dict[str, Any]:
    node = {
        "resource_type": "model",
        "unique_id": f"model.{package}.{name}",
        "package_name": package,
        "name": name,
        "database": "analytics",
        "schema": "marts",
        "alias": name,
        "relation_name": f'"analytics"."marts"."{name}"',
        "config": {"materialized": "table"},
    }
    node.update(extra)
    return node


def write_manifest(
    folder: Path, *nodes: dict[str, Any], target: str = "target"
) -> None:
    path = folder / target / "manifest.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    seed = {"resource_type": "seed", "unique_id": "seed.shop.orders", "name": "orders"}
    all_nodes = {node["unique_id"]: node for node in (*nodes, seed)}
    path.write_text(json.dumps({"nodes": all_nodes}), encoding="utf-8")


@pytest.fixture(autouse=True)
def no_target_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DBT_TARGET_PATH", raising=False)


def test_name_package_and_unique_id(tmp_path: Path) -> None:
    write_manifest(tmp_path, model("shop", "orders"), model("shop", "items"))
    project = DbtProject(tmp_path)

    assert project.relation_name("orders") == '"analytics"."marts"."orders"'
    assert project.relation_name("shop.orders") == '"analytics"."marts"."orders"'
    assert project.relation_name("model.shop.items") == '"analytics"."marts"."items"'


def test_same_name_in_two_packages_is_ambiguous(tmp_path: Path) -> None:
    write_manifest(tmp_path, model("shop", "orders"), model("vendor", "orders"))
    project = DbtProject(tmp_path)

    with pytest.raises(SourceError, match=r"package\.model") as caught:
        project.relation_name("orders")

    assert "model.shop.orders, model.vendor.orders" in str(caught.value)
    assert project.relation_name("vendor.orders") == '"analytics"."marts"."orders"'


def test_bare_name_picks_latest_version(tmp_path: Path) -> None:
    write_manifest(
        tmp_path,
        model(
            "shop", "orders", version=1, latest_version=2, relation_name="a.b.orders_v1"
        ),
        model(
            "shop",
            "orders",
            unique_id="model.shop.orders.v2",
            version=2,
            latest_version=2,
            relation_name="a.b.orders_v2",
        ),
    )

    assert DbtProject(tmp_path).relation_name("orders") == "a.b.orders_v2"


def test_ephemeral_model_has_no_relation(tmp_path: Path) -> None:
    node = model(
        "shop", "orders", relation_name=None, config={"materialized": "ephemeral"}
    )
    write_manifest(tmp_path, node)

    with pytest.raises(SourceError, match="ephemeral"):
        DbtProject(tmp_path).relation_name("orders")


def test_relation_built_from_parts(tmp_path: Path) -> None:
    write_manifest(
        tmp_path, model("shop", "orders", relation_name=None, alias="Orders")
    )

    assert (
        DbtProject(tmp_path).relation_name("orders") == '"analytics"."marts"."Orders"'
    )


def test_target_path_resolution(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "dbt_project.yml").write_text("name: shop\ntarget-path: build\n")
    write_manifest(tmp_path, model("shop", "orders"), target="build")
    other = tmp_path / "elsewhere"
    write_manifest(other, model("shop", "orders", relation_name="x.y.z"))

    assert DbtProject(tmp_path).manifest_path == tmp_path / "build" / "manifest.json"
    assert (
        DbtProject(tmp_path).relation_name("orders") == '"analytics"."marts"."orders"'
    )
    monkeypatch.setenv("DBT_TARGET_PATH", str(other / "target"))
    assert DbtProject(tmp_path).relation_name("orders") == "x.y.z"


def test_seed_with_model_name_is_ignored(tmp_path: Path) -> None:
    write_manifest(tmp_path, model("shop", "customers"))

    with pytest.raises(SourceError, match="dbt model orders not found"):
        DbtProject(tmp_path).relation_name("orders")


def test_unreadable_manifest(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "manifest.json").write_text("{not json")

    with pytest.raises(SourceError, match="cannot read dbt manifest"):
        DbtProject(tmp_path).relation_name("orders")
