"""The PostgreSQL test-server helper skips locally but fails on CI."""

from __future__ import annotations

import pytest
from pg import _missing, find_bin_dir


def test_missing_server_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)

    with pytest.raises(pytest.skip.Exception, match="no initdb"):
        _missing("no initdb")


def test_missing_server_fails_on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")

    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        _missing("no initdb")


def test_find_bin_dir_returns_folder_with_both_tools() -> None:
    folder = find_bin_dir()
    if folder is None:
        pytest.skip("no PostgreSQL binaries on this machine")

    assert (folder / "initdb").exists()
    assert (folder / "pg_ctl").exists()
