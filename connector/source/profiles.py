"""Warehouse connections read from a dbt ``profiles.yml``.

Supported target types are ``duckdb``, ``postgres`` and ``snowflake``. The
only Jinja understood in the file is ``{{ env_var('NAME') }}`` and
``{{ env_var('NAME', 'default') }}``, optionally piped to ``as_number``,
``as_text``, ``as_native`` or ``int``. Any other Jinja raises a ConfigError
instead of being kept as text.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy.engine import URL

from connector.config import DbtSettings, SnowflakeSettings
from connector.errors import ConfigError
from connector.source.dbt import DbtProject

_ENV_VAR_CALL = re.compile(
    r"\{\{\s*env_var\(\s*(['\"])(?P<name>[^'\"]+)\1"
    r"(?:\s*,\s*(['\"])(?P<default>[^'\"]*)\3)?\s*\)"
    r"(?:\s*\|\s*(?:as_number|as_text|as_native|int))?\s*\}\}"
)
_JINJA_MARKERS = ("{{", "{%")
_SNOWFLAKE_KEYS = (
    "account",
    "user",
    "password",
    "private_key_path",
    "private_key_passphrase",
    "role",
    "database",
    "warehouse",
    "schema",
)


def profiles_path(settings: DbtSettings, base_dir: Path) -> Path:
    """Return the profiles.yml to read, found the way dbt finds it.

    The order is ``warehouse.dbt.profiles_dir``, the environment variable
    ``DBT_PROFILES_DIR``, then ``~/.dbt``.
    """
    folder = settings.profiles_dir
    if folder is None and os.environ.get("DBT_PROFILES_DIR"):
        folder = Path(os.environ["DBT_PROFILES_DIR"])
    if folder is None:
        folder = Path.home() / ".dbt"
    folder = folder.expanduser()
    folder = folder if folder.is_absolute() else base_dir / folder
    return folder / "profiles.yml"


def profile_connection(
    settings: DbtSettings,
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> URL | SnowflakeSettings:
    """Read the selected profile target and turn it into connection settings.

    Returns a SQLAlchemy URL for DuckDB and PostgreSQL targets, and
    ``SnowflakeSettings`` for Snowflake targets.

    Raises:
        ConfigError: profiles.yml, the profile or the target is missing, the
            target type is not supported, or an ``env_var`` is unset.
    """
    env = os.environ if environ is None else environ
    path = profiles_path(settings, base_dir)
    project = DbtProject(_absolute(settings.project_dir, base_dir))
    profile_name = settings.profile or project.project_config().get("profile")
    if not isinstance(profile_name, str):
        raise ConfigError(
            f"no dbt profile name: set warehouse.dbt.profile, or profile: in "
            f"{project.project_dir / 'dbt_project.yml'}",
            key="warehouse.dbt.profile",
        )

    profile = _read_profile(path, profile_name)
    target_name = settings.target or env.get("DBT_TARGET") or profile.get("target")
    target_name = render_env_vars(target_name, env, path) if target_name else None
    outputs = profile.get("outputs")
    if not isinstance(outputs, dict) or target_name not in outputs:
        known = ", ".join(sorted(outputs)) if isinstance(outputs, dict) else "none"
        raise ConfigError(
            f"dbt target {target_name!r} not found in profile {profile_name} of "
            f"{path} (targets: {known}); set warehouse.dbt.target",
            key="warehouse.dbt.target",
        )
    target = render_env_vars(outputs[target_name], env, path)
    return _connection(target, project.project_dir, f"{path}, target {target_name}")


def _absolute(path: Path, base_dir: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else base_dir / path


def _read_profile(path: Path, profile_name: str) -> dict[str, Any]:
    try:
        profiles = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(
            f"cannot read dbt profiles file {path}: {exc.strerror}; set "
            "warehouse.dbt.profiles_dir to the folder holding profiles.yml",
            key="warehouse.dbt.profiles_dir",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    profile = profiles.get(profile_name) if isinstance(profiles, dict) else None
    if not isinstance(profile, dict):
        raise ConfigError(
            f"dbt profile {profile_name} not found in {path}; check "
            "warehouse.dbt.profile or profile: in dbt_project.yml",
            key="warehouse.dbt.profile",
        )
    return profile


def render_env_vars(value: Any, environ: Mapping[str, str], path: Path) -> Any:
    """Replace ``{{ env_var(...) }}`` calls in every string inside ``value``.

    Raises:
        ConfigError: a variable is unset without a default, or a string
            contains other Jinja.
    """
    if isinstance(value, dict):
        return {
            key: render_env_vars(item, environ, path) for key, item in value.items()
        }
    if isinstance(value, list):
        return [render_env_vars(item, environ, path) for item in value]
    if not isinstance(value, str):
        return value

    def _substitute(match: re.Match[str]) -> str:
        name, default = match.group("name"), match.group("default")
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise ConfigError(
            f"{path}: environment variable {name} is not set; export it before running",
            key=name,
        )

    rendered = _ENV_VAR_CALL.sub(_substitute, value)
    if any(marker in rendered for marker in _JINJA_MARKERS):
        raise ConfigError(
            f"{path}: only {{{{ env_var('NAME') }}}} is supported in profiles.yml; "
            "replace other Jinja with a plain value or set warehouse.url"
        )
    return rendered


def _connection(
    target: dict[str, Any], project_dir: Path, where: str
) -> URL | SnowflakeSettings:
    kind = target.get("type")
    if kind == "duckdb":
        return _duckdb_url(target, project_dir, where)
    if kind == "postgres":
        return _postgres_url(target)
    if kind == "snowflake":
        return _snowflake_settings(target, where)
    raise ConfigError(
        f"{where}: dbt target type {kind!r} is not supported; supported types are "
        "duckdb, postgres and snowflake, or set warehouse.url instead",
        key="warehouse.dbt.target",
    )


def _duckdb_url(target: dict[str, Any], project_dir: Path, where: str) -> URL:
    # dbt-duckdb opens a relative path from the folder dbt runs in, which is
    # normally the project folder.
    path = str(target.get("path") or ":memory:")
    if path != ":memory:" and not Path(path).expanduser().is_absolute():
        path = str(project_dir / path)
    # dbt-duckdb's settings (memory_limit, threads, ...) are DuckDB settings,
    # which duckdb-engine takes from the URL's query.
    settings = target.get("settings") or {}
    if not isinstance(settings, dict):
        raise ConfigError(
            f"{where}: settings must be a mapping of DuckDB settings, such as "
            f"{{memory_limit: 4GB, threads: 2}}, not a {type(settings).__name__}",
            key="warehouse.dbt.target",
        )
    query = {str(name): str(value) for name, value in settings.items()}
    return URL.create("duckdb", database=path, query=query)


def _postgres_url(target: dict[str, Any]) -> URL:
    password = target.get("password", target.get("pass"))
    schema = target.get("schema")
    query = {"options": f"-csearch_path={schema}"} if schema else {}
    return URL.create(
        "postgresql+psycopg",
        username=_text(target.get("user")),
        password=_text(password),
        host=_text(target.get("host")),
        port=int(target["port"]) if target.get("port") else None,
        database=_text(target.get("dbname", target.get("database"))),
        query=query,
    )


def _snowflake_settings(target: dict[str, Any], where: str) -> SnowflakeSettings:
    authenticator = target.get("authenticator")
    if authenticator not in (None, "snowflake"):
        raise ConfigError(
            f"{where}: Snowflake authenticator {authenticator!r} is not "
            "supported; use password or private_key_path",
            key="warehouse.dbt.target",
        )
    fields = {
        key: _text(target[key])
        for key in _SNOWFLAKE_KEYS
        if target.get(key) is not None
    }
    try:
        return SnowflakeSettings.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'target'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise ConfigError(f"{where}: invalid Snowflake target: {problems}") from None


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
