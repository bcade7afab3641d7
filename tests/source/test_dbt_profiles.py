"""Warehouse connections read from dbt profiles.yml."""

from __future__ import annotations

from pathlib import Path

import fakesnow
import pytest
from pg import PostgresServer

from connector.config import DbtSettings, SnowflakeSettings, WarehouseSettings
from connector.errors import ConfigError
from connector.source import Warehouse
from connector.source.profiles import profile_connection, render_env_vars

POSTGRES_PROFILE = """
shop:
  target: "{{ env_var('SHOP_TARGET', 'dev') }}"
  outputs:
    dev:
      type: postgres
      host: 127.0.0.1
      port: "{{ env_var('SHOP_PG_PORT') | as_number }}"
      user: loader
      password: "{{ env_var('SHOP_PG_PASSWORD') }}"
      dbname: analytics
      schema: marts
    lake:
      type: duckdb
      path: lake.duckdb
"""


def write_profiles(
    folder: Path, text: str, project: str = "profile: shop\n"
) -> DbtSettings:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "profiles.yml").write_text(text, encoding="utf-8")
    (folder / "dbt_project.yml").write_text(f"name: shop\n{project}", encoding="utf-8")
    return DbtSettings(project_dir=folder, use_profile=True, profiles_dir=folder)


def test_render_env_vars_defaults() -> None:
    env = {"A": "1"}
    path = Path("profiles.yml")

    assert render_env_vars("{{ env_var('A') }}", env, path) == "1"
    assert render_env_vars('{{env_var("B", "x")}}', env, path) == "x"
    assert render_env_vars("{{ env_var('A') | int }}", env, path) == "1"
    assert render_env_vars(["pre-{{ env_var('A') }}", 5], env, path) == ["pre-1", 5]


def test_render_env_vars_rejects() -> None:
    with pytest.raises(ConfigError, match="NOPE is not set"):
        render_env_vars("{{ env_var('NOPE') }}", {}, Path("p.yml"))
    with pytest.raises(ConfigError, match="only"):
        render_env_vars("{{ target.name }}", {}, Path("p.yml"))


def test_postgres_target_becomes_psycopg_url(tmp_path: Path) -> None:
    settings = write_profiles(tmp_path, POSTGRES_PROFILE)
    env = {"SHOP_PG_PORT": "6543", "SHOP_PG_PASSWORD": "pg-secret"}

    url = profile_connection(settings, tmp_path, env)

    assert not isinstance(url, SnowflakeSettings)
    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.username, url.database) == (
        "127.0.0.1",
        6543,
        "loader",
        "analytics",
    )
    assert url.password == "pg-secret"
    assert url.query["options"] == "-csearch_path=marts"
    assert "pg-secret" not in str(url)


def test_duckdb_target_settings_go_into_the_url(tmp_path: Path) -> None:
    profile = (
        "shop:\n  target: lake\n  outputs:\n    lake:\n      type: duckdb\n"
        "      path: lake.duckdb\n"
        "      settings: {memory_limit: 8GB, threads: 2}\n"
    )
    settings = write_profiles(tmp_path, profile)

    url = profile_connection(settings, tmp_path, {})

    assert not isinstance(url, SnowflakeSettings)
    assert url.database == str(tmp_path / "lake.duckdb")
    assert dict(url.query) == {"memory_limit": "8GB", "threads": "2"}


def test_duckdb_settings_that_are_not_a_mapping(tmp_path: Path) -> None:
    profile = (
        "shop:\n  target: lake\n  outputs:\n    lake:\n      type: duckdb\n"
        "      path: lake.duckdb\n      settings: [memory_limit, 1GB]\n"
    )
    settings = write_profiles(tmp_path, profile)

    with pytest.raises(ConfigError, match="settings must be a mapping"):
        profile_connection(settings, tmp_path, {})


def test_target_by_setting_or_env(tmp_path: Path) -> None:
    settings = write_profiles(tmp_path, POSTGRES_PROFILE)
    lake = settings.model_copy(update={"target": "lake"})

    by_setting = profile_connection(lake, tmp_path, {})
    by_env = profile_connection(settings, tmp_path, {"DBT_TARGET": "lake"})

    assert not isinstance(by_setting, SnowflakeSettings)
    assert by_setting.database == str(tmp_path / "lake.duckdb")
    assert by_env == by_setting


def test_snowflake_target_becomes_settings(tmp_path: Path) -> None:
    text = """
shop:
  target: prod
  outputs:
    prod:
      type: snowflake
      account: fake_account
      user: loader
      private_key_path: keys/rsa.p8
      private_key_passphrase: "{{ env_var('SF_PASSPHRASE') }}"
      role: reader
      database: analytics
      warehouse: wh
      schema: marts
      threads: 4
"""
    settings = write_profiles(tmp_path, text)

    found = profile_connection(settings, tmp_path, {"SF_PASSPHRASE": "phrase"})

    assert isinstance(found, SnowflakeSettings)
    assert found.private_key_path == Path("keys/rsa.p8")
    assert found.private_key_passphrase is not None
    assert found.private_key_passphrase.get_secret_value() == "phrase"
    assert (found.role, found.database, found.warehouse, found.schema_) == (
        "reader",
        "analytics",
        "wh",
        "marts",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("other: {}\n", "dbt profile shop not found"),
        (
            "shop:\n  target: qa\n  outputs:\n    dev: {type: duckdb}\n",
            "target 'qa' not found",
        ),
        (
            "shop:\n  target: dev\n  outputs:\n    dev: {type: bigquery}\n",
            "not supported",
        ),
        (
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: snowflake\n"
            "      account: a\n      user: u\n      authenticator: externalbrowser\n",
            "authenticator",
        ),
        (
            "shop:\n  target: dev\n  outputs:\n    dev:\n      type: snowflake\n"
            "      account: a\n      user: u\n",
            "invalid Snowflake target",
        ),
    ],
)
def test_profile_problems_are_config_errors(
    tmp_path: Path, text: str, message: str
) -> None:
    settings = write_profiles(tmp_path, text)

    with pytest.raises(ConfigError, match=message):
        profile_connection(settings, tmp_path, {})


def test_missing_profiles_file_names_setting(tmp_path: Path) -> None:
    settings = DbtSettings(
        project_dir=tmp_path, use_profile=True, profiles_dir=tmp_path, profile="x"
    )

    with pytest.raises(ConfigError, match=r"warehouse\.dbt\.profiles_dir"):
        profile_connection(settings, tmp_path, {})


def test_profiles_dir_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = write_profiles(
        tmp_path / "profiles", "shop:\n  target: d\n  outputs:\n    d: {type: duckdb}\n"
    )
    monkeypatch.setenv("DBT_PROFILES_DIR", str(tmp_path / "profiles"))
    unset = settings.model_copy(update={"profiles_dir": None})

    found = profile_connection(unset, tmp_path)

    assert not isinstance(found, SnowflakeSettings)
    assert found.database == ":memory:"


@pytest.mark.postgres
def test_postgres_profile_connects(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOP_PG_PORT", str(postgres_server.port))
    monkeypatch.setenv("SHOP_PG_PASSWORD", "unused-with-trust-auth")
    text = POSTGRES_PROFILE.replace("loader", "nbsync").replace(
        "analytics", "nbsync_test"
    )
    settings = write_profiles(tmp_path, text)

    with Warehouse.connect(WarehouseSettings(dbt=settings), tmp_path) as warehouse:
        assert warehouse.dialect == "postgresql"
        warehouse.ping()


@pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning")
def test_snowflake_profile_connects(tmp_path: Path) -> None:
    text = """
shop:
  target: dev
  outputs:
    dev:
      type: snowflake
      account: fake_account
      user: loader
      password: "{{ env_var('SF_PASSWORD') }}"
      database: analytics
      schema: marts
"""
    settings = write_profiles(tmp_path, text)

    with fakesnow.patch(), pytest.MonkeyPatch.context() as patch:
        patch.setenv("SF_PASSWORD", "sf-secret")
        with Warehouse.connect(WarehouseSettings(dbt=settings), tmp_path) as warehouse:
            assert warehouse.dialect == "snowflake"
            assert "sf-secret" not in repr(warehouse)
