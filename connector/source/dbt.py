"""dbt model names resolved to warehouse relations through ``manifest.json``.

dbt writes the manifest to its target path on ``dbt build``, ``dbt run``
and ``dbt compile``. Each model node there carries ``relation_name``, the
adapter's own fully qualified and quoted name of the table or view
(``"analytics"."main"."orders"`` on DuckDB and PostgreSQL,
``analytics.dbt.orders`` on Snowflake).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from connector.source.failures import permanent_error
from connector.source.identifiers import close_names, quote

#: Environment variable dbt reads for its target path, after ``--target-path``.
TARGET_PATH_ENV = "DBT_TARGET_PATH"


class DbtProject:
    """A dbt project folder and its compiled manifest, loaded on first use."""

    def __init__(self, project_dir: Path, target_path: Path | None = None) -> None:
        self.project_dir = project_dir
        self._target_path = target_path
        self._models: list[dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"DbtProject({str(self.project_dir)!r})"

    @property
    def manifest_path(self) -> Path:
        """Where dbt wrote ``manifest.json``, found the way dbt finds it.

        The order is: the ``target_path`` given here, the environment
        variable ``DBT_TARGET_PATH``, ``target-path`` in dbt_project.yml,
        then ``target``. A relative path is read against the project folder.
        """
        target = self._target_path
        if target is None and os.environ.get(TARGET_PATH_ENV):
            target = Path(os.environ[TARGET_PATH_ENV])
        if target is None:
            configured = self.project_config().get("target-path")
            target = Path(configured) if isinstance(configured, str) else Path("target")
        target = target.expanduser()
        folder = target if target.is_absolute() else self.project_dir / target
        return folder / "manifest.json"

    def project_config(self) -> dict[str, Any]:
        """Return dbt_project.yml as a dict, or an empty dict if it is absent."""
        path = self.project_dir / "dbt_project.yml"
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, yaml.YAMLError) as exc:
            raise permanent_error(f"cannot read {path}: {exc}") from exc
        return loaded if isinstance(loaded, dict) else {}

    def relation_name(self, model: str) -> str:
        """Return the relation dbt built for ``model``.

        ``model`` is a model name (``orders``), a package-qualified name
        (``jaffle_shop.orders``) or a unique id (``model.jaffle_shop.orders``).

        Raises:
            SourceError: the manifest is missing or unreadable, the model is
                not in it, the name matches models of several packages, or
                the model is ephemeral and has no relation.
        """
        node = self._find(model)
        relation = node.get("relation_name")
        if relation:
            return str(relation)
        if node.get("config", {}).get("materialized") == "ephemeral":
            raise permanent_error(
                f"dbt model {model} is ephemeral, so dbt builds no table or view "
                "for it; materialize it as a table or view, or read its SQL "
                "with query: in the mapping"
            )
        parts = [node.get("database"), node.get("schema"), node.get("alias")]
        return ".".join(quote(str(part)) for part in parts if part)

    def _find(self, model: str) -> dict[str, Any]:
        models = self._load_models()
        matches = [node for node in models if _is_match(node, model)]
        if len(matches) > 1:
            matches = _latest_versions(matches)
        if len(matches) == 1:
            return matches[0]
        if matches:
            ids = ", ".join(sorted(str(node.get("unique_id")) for node in matches))
            raise permanent_error(
                f"dbt model name {model} matches several models ({ids}); write "
                "it as package.model in the mapping"
            )
        names = sorted({str(node.get("name")) for node in models})
        near = close_names(model.rsplit(".", 1)[-1], names)
        hint = f" Did you mean {', '.join(near)}?" if near else ""
        raise permanent_error(
            f"dbt model {model} not found in {self.manifest_path}.{hint} Check "
            "the name, or run dbt build (or dbt compile) again if the model is new."
        )

    def _load_models(self) -> list[dict[str, Any]]:
        if self._models is not None:
            return self._models
        path = self.manifest_path
        try:
            with path.open(encoding="utf-8") as handle:
                manifest = json.load(handle)
        except FileNotFoundError:
            raise permanent_error(
                f"dbt manifest {path} not found; run dbt build (or dbt compile) "
                f"in {self.project_dir} first, so model: names in the mapping "
                "can be resolved"
            ) from None
        except (OSError, ValueError) as exc:
            raise permanent_error(
                f"cannot read dbt manifest {path}: {exc}; run dbt compile again"
            ) from exc
        nodes = manifest.get("nodes", {}) if isinstance(manifest, dict) else {}
        self._models = [
            node
            for node in nodes.values()
            if isinstance(node, dict) and node.get("resource_type") == "model"
        ]
        return self._models


def _is_match(node: dict[str, Any], model: str) -> bool:
    if node.get("unique_id") == model:
        return True
    if node.get("name") == model:
        return True
    package, _, name = model.rpartition(".")
    return (
        bool(package)
        and node.get("package_name") == package
        and node.get("name") == name
    )


def _latest_versions(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Versioned models share a name; a bare name means the latest version.
    latest = [
        node
        for node in nodes
        if node.get("version") is not None
        and node.get("version") == node.get("latest_version")
    ]
    return latest or nodes
