"""Fixtures shared by the whole suite: shared data, warehouses, the stand-in."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from testdata import TEST_CLIENT, TEST_KEY, DbtBuild, build_dbt_project

from connector import log
from connector.standin import StandIn


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The shared folder beside the checkout, holding the public datasets."""
    path = Path(__file__).resolve().parents[1].parent / "shared"
    if not path.is_dir():
        pytest.fail(f"shared data folder not found at {path}")
    return path


@pytest.fixture(scope="session")
def jaffle_dir(shared_dir: Path) -> Path:
    return shared_dir / "data" / "jaffle-shop" / "new"


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Undo a CLI run's logging setup, so later tests capture records again."""
    levels = {name: logging.getLogger(name).level for name in log.LIBRARY_LOGGERS}
    yield
    log.reset()
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    """A Northbeam stand-in on 127.0.0.1 with test credentials."""
    with StandIn(api_key=TEST_KEY, client_id=TEST_CLIENT) as server:
        yield server


@pytest.fixture
def api_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Credentials in the environment, as a scheduler would set them."""
    env = {"NORTHBEAM_API_KEY": TEST_KEY, "NORTHBEAM_CLIENT_ID": TEST_CLIENT}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


@pytest.fixture(scope="session")
def dbt_jaffle(tmp_path_factory: pytest.TempPathFactory, jaffle_dir: Path) -> DbtBuild:
    """tests/dbt_project built once per session by a real ``dbt build``."""
    return build_dbt_project(tmp_path_factory.mktemp("dbt_jaffle"), jaffle_dir)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")
