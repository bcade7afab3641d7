"""Settings of one sync, read from a YAML config file.

Secrets (API key, client id, warehouse passwords) are written in the file as
``${ENV_VAR}`` references and resolved from the environment when the file is
loaded; they are held as ``SecretStr`` so they never print.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from connector.errors import ConfigError

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

PRODUCTION_URL = "https://api.northbeam.io"
UAT_URL = "https://api-uat.northbeam.io"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SnowflakeSettings(_Strict):
    """Connection to Snowflake through snowflake-connector-python."""

    account: str
    user: str
    password: SecretStr | None = None
    private_key_path: Path | None = None
    private_key_passphrase: SecretStr | None = None
    warehouse: str | None = None
    role: str | None = None
    database: str | None = None
    schema_: str | None = Field(default=None, alias="schema")

    @model_validator(mode="after")
    def _one_auth_method(self) -> SnowflakeSettings:
        if (self.password is None) == (self.private_key_path is None):
            raise ValueError(
                "set exactly one of warehouse.snowflake.password or "
                "warehouse.snowflake.private_key_path"
            )
        return self


class DbtSettings(_Strict):
    """A dbt project whose manifest resolves ``model:`` names in the mapping."""

    project_dir: Path
    #: Take the warehouse connection from profiles.yml instead of ``url``.
    use_profile: bool = False
    profiles_dir: Path | None = None
    profile: str | None = None
    target: str | None = None


class WarehouseSettings(_Strict):
    """The warehouse connection: a SQLAlchemy URL or a Snowflake block."""

    url: SecretStr | None = None
    snowflake: SnowflakeSettings | None = None
    dbt: DbtSettings | None = None
    #: Rows fetched from the warehouse per round trip.
    chunk_rows: int = Field(default=5000, ge=1, le=1_000_000)

    @model_validator(mode="after")
    def _one_connection(self) -> WarehouseSettings:
        has_profile = self.dbt is not None and self.dbt.use_profile
        count = sum(x for x in (self.url is not None, self.snowflake is not None))
        if count + has_profile != 1:
            raise ValueError(
                "set exactly one of warehouse.url, warehouse.snowflake or "
                "warehouse.dbt.use_profile: true"
            )
        return self


class PacingSettings(_Strict):
    """Budget of request-body bytes over a sliding window, per API key."""

    enabled: bool = True
    #: Bytes of request body allowed per window; Northbeam allows 30 MB per 60 s.
    budget_bytes: int = Field(default=30_000_000, ge=1000)
    window_seconds: float = Field(default=60.0, gt=0)


class NorthbeamSettings(_Strict):
    """The Orders API endpoint, credentials and request shaping."""

    environment: Literal["production", "uat"] = "production"
    #: Overrides ``environment``; used for the local stand-in.
    base_url: str | None = None
    api_version: Literal["v1", "v2"] = "v1"
    api_key: SecretStr
    client_id: SecretStr
    #: Orders per request; Northbeam accepts at most 1,000.
    batch_size: int = Field(default=500, ge=1, le=1000)
    #: Upper bound of one request body in bytes.
    max_batch_bytes: int = Field(default=4_000_000, ge=10_000)
    max_in_flight: int = Field(default=2, ge=1, le=16)
    timeout_seconds: float = Field(default=30.0, gt=0)
    #: Attempts per request for 429, 5xx, timeouts and dropped connections.
    max_attempts: int = Field(default=8, ge=1, le=100)
    #: Upper bound of one backoff sleep, in seconds.
    max_backoff_seconds: float = Field(default=60.0, gt=0)
    pacing: PacingSettings = PacingSettings()

    @field_validator("api_key", "client_id")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError(
                "is empty; set the environment variable it names to the value "
                "from Northbeam's API settings"
            )
        return value

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(
                f"northbeam.base_url {value!r} is not an http(s) URL; "
                "write it like https://api.northbeam.io"
            )
        return value.rstrip("/") if value else value

    @property
    def url(self) -> str:
        """Base URL the client talks to, without a trailing slash."""
        if self.base_url:
            return self.base_url
        return UAT_URL if self.environment == "uat" else PRODUCTION_URL


class StateSettings(_Strict):
    """The store of the high-water mark, fingerprints and reject keys."""

    backend: Literal["sqlite", "warehouse"] = "sqlite"
    #: SQLite file, relative to the config file's folder.
    path: Path = Path(".northbeam-sync/state.db")
    #: Table in the warehouse, for runs on ephemeral workers.
    table: str = "northbeam_sync_state"
    #: Seconds after which a lock whose holder stopped heartbeating is stale.
    lock_timeout_seconds: float = Field(default=900.0, gt=0)


class SyncSettings(_Strict):
    """Behaviour of a run."""

    #: Name under which state is kept; two syncs on one state file need two names.
    name: str = Field(default="orders", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    #: JSON Lines report of rejected orders, relative to the config file's folder.
    reject_file: Path = Path(".northbeam-sync/rejects.jsonl")
    #: Fail the run (exit code 3) when more than this share of orders is rejected.
    max_reject_ratio: float = Field(default=0.05, ge=0, le=1)
    #: Re-read this many seconds (or cursor units) below the high-water mark.
    lookback: float = Field(default=0, ge=0)


class Settings(_Strict):
    """The whole config file."""

    warehouse: WarehouseSettings
    mapping: Path
    northbeam: NorthbeamSettings
    state: StateSettings = StateSettings()
    sync: SyncSettings = SyncSettings()
    #: Folder of the config file; relative paths resolve against it.
    base_dir: Path = Path()

    def resolve(self, path: Path) -> Path:
        """Resolve ``path`` against the config file's folder."""
        return path if path.is_absolute() else self.base_dir / path


def expand_env(text: str, environ: dict[str, str] | None = None) -> str:
    """Replace ``${NAME}`` and ``${NAME:-default}`` with environment values.

    Raises:
        ConfigError: a referenced variable is unset and has no default.
    """
    env = os.environ if environ is None else environ

    def _sub(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(
            f"environment variable {name} is not set; export it before "
            "running, or give a default as ${" + name + ":-value}",
            key=name,
        )

    return _ENV_REF.sub(_sub, text)


def _walk_expand(value: Any, environ: dict[str, str] | None) -> Any:
    if isinstance(value, str):
        return expand_env(value, environ)
    if isinstance(value, dict):
        return {k: _walk_expand(v, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk_expand(v, environ) for v in value]
    return value


#: Keys whose values are never repeated in an error message.
_SECRET_KEYS = frozenset(
    {"api_key", "client_id", "password", "private_key_passphrase", "url"}
)
_MAX_SHOWN = 60


def _format_errors(path: Path, exc: ValidationError, written: Any) -> str:
    """List each invalid key with the value as written in the file, and the fix.

    Values are shown as written, before ``${VAR}`` expansion, so a secret
    from the environment never shows. Secret keys show no value at all, and
    neither do unknown keys, which may be a misspelt secret key.
    """
    lines = [f"{path}: invalid config"]
    for error in exc.errors(include_input=False, include_url=False):
        loc = error["loc"]
        key = ".".join(str(p) for p in loc) or "(top level)"
        shown = "" if error["type"] == "extra_forbidden" else _shown_value(written, loc)
        lines.append(f"  {key}{shown}: {_explain(error, loc)}")
    lines.append(f"Fix these settings in {path} and run again.")
    return "\n".join(lines)


def _shown_value(written: Any, loc: tuple[int | str, ...]) -> str:
    value = written
    for part in loc:
        if not isinstance(value, dict) or part not in value:
            return ""
        value = value[part]
    if not loc or str(loc[-1]) in _SECRET_KEYS or isinstance(value, dict | list):
        return ""
    text = repr(value)
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 3] + "..."
    return f" = {text}"


def _explain(error: Any, loc: tuple[int | str, ...]) -> str:
    if error["type"] == "missing":
        return "missing; add this setting"
    if error["type"] == "extra_forbidden":
        known = _known_keys(loc[:-1])
        hint = f" Known keys here: {', '.join(known)}." if known else ""
        return f"unknown setting; remove it or correct the spelling.{hint}"
    if error["type"] == "value_error":
        # The messages of this module's validators already name the fix.
        return str(error["msg"]).removeprefix("Value error, ")
    return f"{error['msg']}; change the value"


def _known_keys(loc: tuple[int | str, ...]) -> list[str]:
    """Return the keys the settings model accepts at ``loc``, or []."""
    model: type[BaseModel] | None = Settings
    for part in loc:
        field = model.model_fields.get(str(part)) if model is not None else None
        if field is None:
            return []
        model = _model_in(field.annotation)
    if model is None:
        return []
    fields = model.model_fields.items()
    return [field.alias or name for name, field in fields if name != "base_dir"]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """Return the settings model in ``annotation`` (``X`` or ``X | None``)."""
    for candidate in (annotation, *getattr(annotation, "__args__", ())):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def load_settings(path: str | Path, environ: dict[str, str] | None = None) -> Settings:
    """Read, expand and validate a config file.

    Raises:
        ConfigError: the file is missing, not YAML, or a setting is invalid.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"cannot read config file {path}: {exc.strerror}; "
            "pass the right file with -c/--config"
        ) from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top")

    expanded = _walk_expand(raw, environ)
    expanded.setdefault("base_dir", str(path.resolve().parent))
    try:
        return Settings.model_validate(expanded)
    except ValidationError as exc:
        raise ConfigError(_format_errors(path, exc, raw)) from None
