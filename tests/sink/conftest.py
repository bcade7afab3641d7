"""Fixtures of the sink tests."""

from __future__ import annotations

import pytest
from sink_fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    """A clock that moves only when its ``sleep`` is called."""
    return FakeClock()
