"""StateStore behaviour, run alike on every backend that conftest.py lists."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from state_backends import Backend

from connector.errors import StateError
from connector.records import Reject
from connector.state import StateStore
from connector.state.changes import MAX_REASON_CHARS

NAME = "orders"
FP_A = "a" * 64
FP_B = "b" * 64


def _reject(key: str, reason: str = "currency 'XXX' is not ISO 4217") -> Reject:
    return Reject(
        order_key=key,
        stage="validation",
        reason=reason,
        order_id=f"id-{key}",
        field_path="$.currency",
    )


def test_store_unknown_sync_is_empty(store: StateStore) -> None:
    state = store.load(NAME)

    assert state.name == NAME
    assert state.high_water_mark is None
    assert state.child_marks == {}
    assert state.mapping_fingerprint is None
    assert state.updated_at is None
    assert store.pending_rejects(NAME) == []
    assert store.fingerprints(NAME, ["1", "2"]) == {}


def test_store_checkpoint_records_marks(store: StateStore) -> None:
    mark = datetime(2024, 5, 1, 12, tzinfo=UTC)

    store.checkpoint(
        NAME,
        accepted={"1": FP_A},
        rejected=[],
        high_water_mark=mark,
        child_marks={"products": 7},
        mapping_fingerprint="m1",
    )
    state = store.load(NAME)

    assert state.high_water_mark == mark
    assert state.child_marks == {"products": 7}
    assert state.mapping_fingerprint == "m1"
    assert state.created_at is not None
    assert state.updated_at is not None
    assert state.updated_at.tzinfo is not None


def test_store_checkpoint_keeps_unchanged_marks(store: StateStore) -> None:
    store.checkpoint(
        NAME, accepted={}, rejected=[], high_water_mark=5, mapping_fingerprint="m1"
    )

    store.checkpoint(NAME, accepted={"1": FP_A}, rejected=[])
    state = store.load(NAME)

    assert state.high_water_mark == 5
    assert state.mapping_fingerprint == "m1"


def test_store_checkpoint_none_clears_mark(store: StateStore) -> None:
    store.checkpoint(NAME, accepted={}, rejected=[], high_water_mark=5)

    store.checkpoint(
        NAME, accepted={}, rejected=[], high_water_mark=None, mapping_fingerprint=None
    )

    assert store.load(NAME).high_water_mark is None
    assert store.load(NAME).mapping_fingerprint is None


def test_store_child_marks_merge(store: StateStore) -> None:
    store.checkpoint(
        NAME, accepted={}, rejected=[], child_marks={"products": 1, "refunds": 1}
    )

    store.checkpoint(NAME, accepted={}, rejected=[], child_marks={"refunds": 2})

    assert store.load(NAME).child_marks == {"products": 1, "refunds": 2}


MARKS = {
    "aware": datetime(2024, 11, 3, 1, 30, tzinfo=ZoneInfo("America/New_York"), fold=1),
    "naive": datetime(2024, 11, 3, 1, 30, 0, 999999),
    "date": date(2024, 2, 29),
    "int": 2**63 - 1,
    "decimal": Decimal("1700000000.000100"),
}


@pytest.mark.parametrize("mark", MARKS.values(), ids=MARKS.keys())
def test_store_mark_keeps_type(store: StateStore, mark: Any) -> None:
    store.checkpoint(
        NAME, accepted={}, rejected=[], high_water_mark=mark, child_marks={"c": mark}
    )
    state = store.load(NAME)

    for loaded in (state.high_water_mark, state.child_marks["c"]):
        assert loaded == mark
        assert type(loaded) is type(mark)
        assert str(loaded) == str(mark)


def test_store_unsupported_mark_writes_nothing(store: StateStore) -> None:
    with pytest.raises(StateError, match="float"):
        store.checkpoint(NAME, accepted={"1": FP_A}, rejected=[], high_water_mark=1.5)

    assert store.fingerprints(NAME, ["1"]) == {}
    assert store.load(NAME).updated_at is None


def test_store_fingerprints_in_batches(store: StateStore) -> None:
    """Lookups span several IN lists and return only known keys."""
    accepted = {f"order-{i}": f"{i:064x}" for i in range(12_000)}
    store.checkpoint(NAME, accepted=accepted, rejected=[])
    keys = [f"order-{i}" for i in range(0, 15_000)]

    found = store.fingerprints(NAME, keys)

    assert found == accepted
    assert store.fingerprints(NAME, ["order-11999", "order-12000"]) == {
        "order-11999": accepted["order-11999"]
    }
    assert store.fingerprints(NAME, []) == {}


def test_store_fingerprint_upsert_replaces(store: StateStore) -> None:
    store.checkpoint(NAME, accepted={"1": FP_A, "2": FP_A}, rejected=[])

    store.checkpoint(NAME, accepted={"1": FP_B}, rejected=[])

    assert store.fingerprints(NAME, ["1", "2"]) == {"1": FP_B, "2": FP_A}


def test_store_syncs_are_separate(store: StateStore) -> None:
    store.checkpoint(NAME, accepted={"1": FP_A}, rejected=[_reject("2")])
    store.checkpoint("other", accepted={"1": FP_B}, rejected=[], high_water_mark=3)

    assert store.fingerprints(NAME, ["1"]) == {"1": FP_A}
    assert store.fingerprints("other", ["1"]) == {"1": FP_B}
    assert store.pending_rejects("other") == []
    assert store.load(NAME).high_water_mark is None


def test_store_reject_lifecycle(store: StateStore) -> None:
    """A reject stays pending with more attempts until it is accepted."""
    store.checkpoint(NAME, accepted={}, rejected=[_reject("7", "first reason")])
    [first] = store.pending_rejects(NAME)

    assert first.order_key == "7"
    assert first.stage == "validation"
    assert first.reason == "first reason"
    assert first.order_id == "id-7"
    assert first.field_path == "$.currency"
    assert first.attempts == 1
    assert first.first_seen == first.last_seen

    store.checkpoint(NAME, accepted={}, rejected=[_reject("7", "second reason")])
    [second] = store.pending_rejects(NAME)

    assert second.attempts == 2
    assert second.reason == "second reason"
    assert second.first_seen == first.first_seen
    assert second.last_seen >= first.last_seen

    store.checkpoint(NAME, accepted={"7": FP_A}, rejected=[])

    assert store.pending_rejects(NAME) == []
    assert store.fingerprints(NAME, ["7"]) == {"7": FP_A}


def test_store_reject_drops_old_fingerprint(store: StateStore) -> None:
    """A rejected order is sent again once fixed, even with the old payload."""
    store.checkpoint(NAME, accepted={"7": FP_A}, rejected=[])

    store.checkpoint(NAME, accepted={}, rejected=[_reject("7")])

    assert store.fingerprints(NAME, ["7"]) == {}


def test_store_key_in_both_stays_pending(store: StateStore) -> None:
    store.checkpoint(NAME, accepted={"7": FP_A}, rejected=[_reject("7")])

    assert store.fingerprints(NAME, ["7"]) == {}
    assert [r.order_key for r in store.pending_rejects(NAME)] == ["7"]


def test_store_pending_rejects_oldest_first(store: StateStore) -> None:
    store.checkpoint(NAME, accepted={}, rejected=[_reject("b")])
    store.checkpoint(NAME, accepted={}, rejected=[_reject("a"), _reject("c")])
    store.checkpoint(NAME, accepted={}, rejected=[_reject("b")])

    keys = [r.order_key for r in store.pending_rejects(NAME)]

    assert keys == ["b", "a", "c"]


def test_store_long_reason_trimmed(store: StateStore) -> None:
    store.checkpoint(NAME, accepted={}, rejected=[_reject("1", "x" * 5000)])

    [pending] = store.pending_rejects(NAME)

    assert len(pending.reason) == MAX_REASON_CHARS
    assert pending.reason.endswith("...")


def test_store_reset_drops_state_of_one_sync(store: StateStore) -> None:
    store.checkpoint(
        NAME,
        accepted={"1": FP_A},
        rejected=[_reject("2")],
        high_water_mark=9,
        child_marks={"products": 1},
        mapping_fingerprint="m1",
    )
    store.checkpoint("other", accepted={"1": FP_B}, rejected=[])

    with store.lock(NAME, owner="run", timeout_seconds=60):
        store.reset(NAME)
        assert store.show(NAME)["lock"] is not None

    assert store.load(NAME).high_water_mark is None
    assert store.load(NAME).child_marks == {}
    assert store.fingerprints(NAME, ["1"]) == {}
    assert store.pending_rejects(NAME) == []
    assert store.fingerprints("other", ["1"]) == {"1": FP_B}


def test_store_set_high_water_mark(store: StateStore) -> None:
    store.checkpoint(NAME, accepted={"1": FP_A}, rejected=[], high_water_mark=9)

    store.set_high_water_mark(NAME, date(2024, 1, 1))
    store.set_high_water_mark(NAME, 4, child="refunds")

    state = store.load(NAME)
    assert state.high_water_mark == date(2024, 1, 1)
    assert state.child_marks == {"refunds": 4}
    assert store.fingerprints(NAME, ["1"]) == {"1": FP_A}

    store.set_high_water_mark(NAME, None)
    assert store.load(NAME).high_water_mark is None


def test_store_show_summarises_without_keys(store: StateStore) -> None:
    store.checkpoint(
        NAME,
        accepted={"secret-key-1": FP_A, "secret-key-2": FP_A},
        rejected=[_reject("secret-key-3"), _reject("secret-key-4")],
        high_water_mark=datetime(2024, 5, 1, tzinfo=UTC),
        mapping_fingerprint="m1",
    )
    store.checkpoint(
        NAME,
        accepted={},
        rejected=[Reject("secret-key-5", "api", "HTTP 400")],
    )

    with store.lock(NAME, owner="run-42", timeout_seconds=60):
        summary = store.show(NAME)
    text = json.dumps(summary)

    assert summary["fingerprints"] == 2
    assert summary["pending_rejects"] == {
        "total": 3,
        "by_stage": {"api": 1, "validation": 2},
    }
    assert summary["high_water_mark"] == {
        "type": "timestamp_tz",
        "value": "2024-05-01T00:00:00+00:00",
    }
    assert summary["mapping_fingerprint"] == "m1"
    assert summary["lock"]["owner"] == "run-42"
    assert "token" not in summary["lock"]
    assert "secret-key" not in text
    assert store.show(NAME)["lock"] is None


def test_store_reopen_keeps_state(backend: Backend) -> None:
    first = backend.open()
    first.checkpoint(NAME, accepted={"1": FP_A}, rejected=[], high_water_mark=3)
    backend.release()

    second = backend.open()

    assert second.load(NAME).high_water_mark == 3
    assert second.fingerprints(NAME, ["1"]) == {"1": FP_A}
