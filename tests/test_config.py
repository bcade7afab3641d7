"""Config files: environment references, error messages, relative paths."""

from __future__ import annotations

from pathlib import Path

import pytest
from testdata import TEST_CLIENT, TEST_KEY

from connector import api
from connector.config import expand_env, load_settings
from connector.demo.shop import generate_shop
from connector.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
ENV = {"NB_KEY": TEST_KEY, "NB_CLIENT": TEST_CLIENT}

BASE = """\
warehouse:
  url: duckdb:///shop.duckdb
mapping: mapping.yaml
northbeam:
  api_key: ${NB_KEY}
  client_id: ${NB_CLIENT}
"""


def write(folder: Path, text: str, name: str = "config.yaml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ=ENV if environ is None else environ)
    assert caught.value.exit_code == 2
    return str(caught.value)


# -- environment references -------------------------------------------------


def test_env_references_expanded(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, BASE), environ=ENV)

    assert settings.northbeam.api_key.get_secret_value() == TEST_KEY
    assert settings.northbeam.client_id.get_secret_value() == TEST_CLIENT


def test_env_reference_inside_text() -> None:
    text = "postgresql://reader:${PGPASS}@127.0.0.1:${PGPORT:-5432}/shop"

    assert (
        expand_env(text, {"PGPASS": "pw-123"})
        == "postgresql://reader:pw-123@127.0.0.1:5432/shop"
    )


def test_env_default_used_when_unset(tmp_path: Path) -> None:
    text = BASE.replace("${NB_CLIENT}", "${NB_CLIENT_UNSET:-fallback-client}")

    settings = load_settings(write(tmp_path, text), environ=ENV)

    assert settings.northbeam.client_id.get_secret_value() == "fallback-client"


def test_env_value_wins_over_default() -> None:
    assert expand_env("${NB_KEY:-other}", ENV) == TEST_KEY
    assert expand_env("${EMPTY:-}", {}) == ""
    assert expand_env("${SET_EMPTY:-x}", {"SET_EMPTY": ""}) == ""


def test_env_reads_process_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NB_KEY", "from-process-env")
    monkeypatch.setenv("NB_CLIENT", TEST_CLIENT)

    settings = load_settings(write(tmp_path, BASE))

    assert settings.northbeam.api_key.get_secret_value() == "from-process-env"


def test_missing_env_names_variable_and_fix(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, BASE), {"NB_CLIENT": TEST_CLIENT})

    assert "environment variable NB_KEY is not set" in message
    assert "export it" in message
    assert "${NB_KEY:-value}" in message


def test_empty_credential_rejected(tmp_path: Path) -> None:
    """An exported but empty API key fails at load, not as a later 401."""
    message = config_error(
        write(tmp_path, BASE), {"NB_KEY": " ", "NB_CLIENT": TEST_CLIENT}
    )

    assert "northbeam.api_key: is empty" in message


# -- invalid values -----------------------------------------------------------


def test_invalid_value_names_key_value_and_fix(tmp_path: Path) -> None:
    text = BASE + "  batch_size: 5000\n  environment: staging\n"

    message = config_error(write(tmp_path, text))

    assert "invalid config" in message
    assert "northbeam.batch_size = 5000: " in message
    assert "less than or equal to 1000" in message
    assert "northbeam.environment = 'staging': " in message
    assert "'production' or 'uat'" in message
    assert "Fix these settings in" in message


def test_every_invalid_value_listed(tmp_path: Path) -> None:
    text = BASE + "state:\n  backend: redis\nsync:\n  max_reject_ratio: 2\n"

    message = config_error(write(tmp_path, text))

    assert "state.backend = 'redis'" in message
    assert "sync.max_reject_ratio = 2" in message


def test_unknown_key_lists_known_keys(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, BASE + "  batchsize: 10\n"))

    assert "northbeam.batchsize: unknown setting" in message
    assert "batch_size" in message
    assert "max_in_flight" in message


def test_missing_key_says_add_it(tmp_path: Path) -> None:
    text = BASE.replace("mapping: mapping.yaml\n", "")

    message = config_error(write(tmp_path, text))

    assert "mapping: missing; add this setting" in message


def test_custom_rule_message_kept(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, BASE + "  base_url: ftp://host\n"))

    assert "northbeam.base_url = 'ftp://host'" in message
    assert "write it like https://api.northbeam.io" in message


def test_secret_values_never_shown(tmp_path: Path) -> None:
    """A secret key shows no value; other keys show the reference, not the value."""
    text = BASE.replace("${NB_KEY}", "[12345678]") + "  max_in_flight: ${NB_CLIENT}\n"

    message = config_error(write(tmp_path, text))

    assert "northbeam.api_key:" in message
    assert "12345678" not in message
    assert "northbeam.max_in_flight = '${NB_CLIENT}'" in message
    assert TEST_CLIENT not in message


def test_misspelt_secret_key_not_shown(tmp_path: Path) -> None:
    """An unknown key may be a misspelt api_key, so its value never shows."""
    message = config_error(write(tmp_path, BASE + "  apikey: literal-key-4821\n"))

    assert "northbeam.apikey: unknown setting" in message
    assert "literal-key-4821" not in message


def test_missing_file_says_which_option(tmp_path: Path) -> None:
    message = config_error(tmp_path / "absent.yaml")

    assert "cannot read config file" in message
    assert "-c/--config" in message


def test_invalid_yaml_rejected(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, "warehouse: [unclosed\n"))

    assert "is not valid YAML" in message


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    message = config_error(write(tmp_path, "- a\n- b\n"))

    assert "expected a mapping of settings" in message


# -- relative paths -----------------------------------------------------------


def test_relative_paths_use_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    text = BASE + "state:\n  path: state/state.db\nsync:\n  reject_file: out/r.jsonl\n"
    config = write(folder, text)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)

    settings = load_settings(Path("..") / "project" / "config.yaml", environ=ENV)

    assert settings.base_dir == folder.resolve()
    assert settings.resolve(settings.mapping) == folder.resolve() / "mapping.yaml"
    assert settings.resolve(settings.sync.reject_file) == (
        folder.resolve() / "out" / "r.jsonl"
    )
    assert settings.resolve(Path("/abs/x.db")) == Path("/abs/x.db")
    assert config.exists()


def test_relative_warehouse_file_found_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """check reads duckdb:///shop.duckdb and mapping.yaml next to the config."""
    folder = tmp_path / "project"
    folder.mkdir()
    generate_shop(folder / "shop.duckdb", orders=20)
    mapping = REPO / "connector" / "demo" / "mapping.yaml"
    write(folder, mapping.read_text(encoding="utf-8"), "mapping.yaml")
    config = write(folder, BASE + "  api_version: v2\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NB_KEY", TEST_KEY)
    monkeypatch.setenv("NB_CLIENT", TEST_CLIENT)

    lines = api.check(Path("project") / config.name, verify_api=False)

    assert lines[0].endswith(str(folder.resolve() / "mapping.yaml"))
    assert "orders: 15 columns found" in lines
    assert not list(tmp_path.glob("*.duckdb"))


def test_example_config_loads() -> None:
    """The shipped example config is valid and points at a shipped mapping."""
    settings = load_settings(
        REPO / "config.example.yaml",
        environ={"NORTHBEAM_API_KEY": TEST_KEY, "NORTHBEAM_CLIENT_ID": TEST_CLIENT},
    )

    assert settings.resolve(settings.mapping).is_file()
    assert settings.northbeam.url == "https://api.northbeam.io"
