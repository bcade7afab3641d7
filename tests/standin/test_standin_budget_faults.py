"""Byte budget and fault plan of the stand-in, without HTTP."""

from __future__ import annotations

import httpx
import pytest

from connector.standin import Faults, StandIn
from connector.standin.budget import ByteBudget
from connector.standin.faults import FaultPlan

AUTH = {"Authorization": "test-key", "Data-Client-ID": "test-client"}


def test_budget_admits_until_full(clock):
    budget = ByteBudget(100, 60, clock)

    assert budget.admit("k", 60) is None
    assert budget.admit("k", 40) is None
    assert budget.admit("k", 1) == 60


def test_budget_wait_rounds_up(clock):
    budget = ByteBudget(100, 60, clock)
    budget.admit("k", 100)

    clock.advance(59.9)
    wait = budget.admit("k", 1)
    clock.advance(0.1)
    admitted = budget.admit("k", 1)

    assert wait == 1
    assert admitted is None


def test_budget_waits_for_enough_old_charges(clock):
    budget = ByteBudget(100, 60, clock)
    budget.admit("k", 30)
    clock.advance(10)
    budget.admit("k", 30)
    clock.advance(10)
    budget.admit("k", 30)

    assert budget.admit("k", 50) == 50
    assert budget.used_bytes("k") == 90


def test_budget_is_per_key(clock):
    budget = ByteBudget(100, 60, clock)
    budget.admit("a", 100)

    assert budget.admit("b", 100) is None
    assert budget.used_bytes("a") == 100


def test_budget_without_limit_admits_everything(clock):
    budget = ByteBudget(None, 60, clock)

    assert budget.admit("k", 10**12) is None
    assert budget.fits_at_all(10**12)


def test_budget_reset_forgets_charges(clock):
    budget = ByteBudget(100, 60, clock)
    budget.admit("k", 100)

    budget.reset()

    assert budget.admit("k", 100) is None


@pytest.mark.parametrize(
    "arguments",
    [
        {"error_rate": 1.5},
        {"error_rate": -0.1},
        {"error_rate": 0.6, "drop_rate": 0.6},
        {"slow_seconds": -1},
        {"script": [700]},
        {"script": ["explode"]},
        {"script": [True]},
    ],
)
def test_faults_reject_invalid_settings(arguments):
    with pytest.raises(ValueError, match=r"fault|rates|slow_seconds"):
        Faults(**arguments)


def test_script_runs_before_random_draws():
    plan = FaultPlan(Faults(script=[502, "ok", 200, "drop"], error_rate=1.0))

    actions = [plan.next_action() for _ in range(5)]

    assert actions == [502, None, None, "drop", 500]
    assert plan.remaining_script == []


def test_no_rates_means_no_faults():
    plan = FaultPlan(Faults())

    assert {plan.next_action() for _ in range(100)} == {None}


def test_rates_split_draws_between_faults():
    plan = FaultPlan(Faults(seed=3, error_rate=0.2, drop_rate=0.2, slow_rate=0.2))

    actions = [plan.next_action() for _ in range(1000)]

    assert {500, "drop", "slow", None} == set(actions)
    assert 100 < actions.count(500) < 300


def test_faults_can_be_replaced_while_running(make_order):
    with StandIn() as server, httpx.Client(base_url=server.url, headers=AUTH) as http:
        server.faults = Faults(script=[503])
        failed = http.post("/v1/orders", json=[make_order()])
        passed = http.post("/v1/orders", json=[make_order()])

    assert failed.status_code == 503
    assert passed.status_code == 200


def test_reject_order_ids_can_be_changed_while_running(make_order):
    server = StandIn(reject_order_ids={"order-1"})
    with server, httpx.Client(base_url=server.url, headers=AUTH) as http:
        rejected = http.post("/v1/orders", json=[make_order()])
        server.reject_order_ids = set()
        accepted = http.post("/v1/orders", json=[make_order()])

    assert rejected.status_code == 400
    assert accepted.status_code == 200


def test_faults_skip_reads_and_bad_credentials(make_order):
    server = StandIn(faults=Faults(script=[500]))
    with server, httpx.Client(base_url=server.url, headers=AUTH) as http:
        read = http.get("/v1/orders")
        unauthorized = httpx.post(server.url + "/v1/orders", json=[make_order()])
        failed = http.post("/v1/orders", json=[make_order()])

    assert read.status_code == 200
    assert unauthorized.status_code == 401
    assert failed.status_code == 500


def test_server_error_in_handling_gives_500(monkeypatch, standin, client, make_order):
    def broken(request: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(standin._service, "handle", broken)

    response = client.post("/v1/orders", json=[make_order()])

    assert response.status_code == 500
