"""The stand-in over real HTTP: each response shape of Northbeam's Orders API."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from connector.standin import Faults, StandIn

AUTH = {"Authorization": "test-key", "Data-Client-ID": "test-client"}


def _client(server: StandIn, timeout: float = 10.0) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=AUTH, timeout=timeout)


@pytest.mark.parametrize(
    "headers",
    [
        {"Data-Client-ID": "test-client"},
        {"Authorization": "wrong", "Data-Client-ID": "test-client"},
        {"Authorization": "test-key"},
        {"Authorization": "test-key", "Data-Client-ID": "wrong"},
    ],
    ids=["no-key", "wrong-key", "no-client-id", "wrong-client-id"],
)
def test_bad_credentials_give_bare_401(standin, make_order, headers):
    with httpx.Client(base_url=standin.url, headers=headers) as http:
        post = http.post("/v1/orders", json=[make_order()])
        get = http.get("/v1/orders")

    assert post.status_code == 401
    assert post.content == b""
    assert get.status_code == 401
    assert standin.orders("v1") == {}


def test_valid_batch_is_stored(standin, client, make_order):
    response = client.post("/v1/orders", json=[make_order(), make_order(order_id="b")])

    assert response.status_code == 200
    assert response.json() == {"message": "Orders received"}
    assert set(standin.orders("v1")) == {"order-1", "b"}
    assert standin.orders("v1")["order-1"] == make_order()


def test_versions_are_stored_apart(standin, client, make_order):
    client.post("/v2/orders", json=[make_order("v2")])

    assert set(standin.orders("v2")) == {"order-1"}
    assert standin.orders("v1") == {}


def test_malformed_json_gives_empty_400(standin, client):
    response = client.post("/v1/orders", content=b'[{"order_id": ')

    assert response.status_code == 400
    assert response.content == b""


def test_nan_is_malformed_json(client, make_order):
    body = json.dumps([make_order(tax=float("nan"))]).encode()

    response = client.post("/v1/orders", content=body)

    assert response.status_code == 400
    assert response.content == b""


@pytest.mark.parametrize("body", [{"order_id": "x"}, [], "orders"])
def test_body_not_an_order_array_gives_generic_400(client, body):
    response = client.post("/v1/orders", json=body)

    assert response.status_code == 400
    assert response.json() == {"error": "bad request"}


def test_envelope_lists_every_invalid_order(
    standin, client, make_order, decode_problems
):
    batch = [
        make_order(order_id="good"),
        make_order(order_id="bad-1", currency="usd", coupon="X"),
        make_order(order_id="bad-2", purchase_total="25.50"),
    ]

    response = client.post("/v1/orders", json=batch)
    problems = decode_problems(response)

    assert response.status_code == 400
    assert {(p["order_id"], p["json_path"]) for p in problems} == {
        ("bad-1", "$[1].currency"),
        ("bad-1", "$[1].coupon"),
        ("bad-2", "$[2].purchase_total"),
    }
    assert all(p["message"] for p in problems)


def test_invalid_order_stores_nothing_of_the_batch(standin, client, make_order):
    batch = [make_order(order_id="good"), make_order(order_id="bad", tax=None)]

    response = client.post("/v1/orders", json=batch)

    assert response.status_code == 400
    assert standin.orders("v1") == {}
    assert standin.write_counts("v1") == {}


def test_generic_400_names_no_order(make_order):
    with StandIn(generic_400=True) as server, _client(server) as http:
        response = http.post("/v1/orders", json=[make_order(currency="usd")])

    assert response.status_code == 400
    assert "order-1" not in response.text
    assert "status" not in response.json()


def test_reject_order_ids_forces_a_reject(make_order, decode_problems):
    with StandIn(reject_order_ids={"b"}) as server, _client(server) as http:
        response = http.post(
            "/v1/orders", json=[make_order(), make_order(order_id="b")]
        )

    assert response.status_code == 400
    assert [(p["order_id"], p["json_path"]) for p in decode_problems(response)] == [
        ("b", "$[1]")
    ]
    assert server.orders("v1") == {}


def test_more_than_1000_orders_give_413(standin, client, make_order):
    batch = [make_order(order_id=f"o-{i}") for i in range(1001)]

    response = client.post("/v1/orders", json=batch)

    assert response.status_code == 413
    assert "1000" in response.json()["error"]
    assert standin.orders("v1") == {}


def test_exactly_1000_orders_are_accepted(standin, client, make_order):
    batch = [make_order(order_id=f"o-{i}") for i in range(1000)]

    response = client.post("/v1/orders", json=batch)

    assert response.status_code == 200
    assert standin.order_count("v1") == 1000
    assert standin.order_count("v2") == 0


def test_body_over_max_body_bytes_gives_413(make_order):
    with StandIn(max_body_bytes=1000) as server, _client(server) as http:
        small = http.post("/v1/orders", json=[make_order()])
        large = http.post(
            "/v1/orders", json=[make_order(order_id=f"o-{i}") for i in range(5)]
        )

    assert small.status_code == 200
    assert large.status_code == 413
    assert "error" in large.json()


def test_over_budget_gives_429_with_retry_after(clock, make_order):
    body = json.dumps([make_order()]).encode()
    with StandIn(budget_bytes=len(body) * 2, clock=clock) as server:
        with _client(server) as http:
            statuses = [http.post("/v1/orders", content=body) for _ in range(3)]
        used = server.budget_used()

    limited = statuses[2]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert limited.headers["Retry-After"] == "60"
    assert limited.json() == {"error": "rate_limit_error", "retry_after_seconds": 60}
    assert used == len(body) * 2


def test_window_slides_back_open(clock, make_order):
    body = json.dumps([make_order()]).encode()
    server = StandIn(budget_bytes=len(body) * 2, window_seconds=60, clock=clock)
    with server, _client(server) as http:
        first = http.post("/v1/orders", content=body)
        clock.advance(20.5)
        second = http.post("/v1/orders", content=body)
        clock.advance(10)
        limited = http.post("/v1/orders", content=body)
        clock.advance(int(limited.headers["Retry-After"]))
        reopened = http.post("/v1/orders", content=body)
        blocked_again = http.post("/v1/orders", content=body)

    assert [first.status_code, second.status_code] == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "30"
    assert reopened.status_code == 200
    assert blocked_again.status_code == 429
    assert blocked_again.headers["Retry-After"] == "20"


def test_429_is_not_charged(clock, make_order):
    body = json.dumps([make_order()]).encode()
    with (
        StandIn(budget_bytes=len(body), clock=clock) as server,
        _client(server) as http,
    ):
        http.post("/v1/orders", content=body)
        for _ in range(3):
            http.post("/v1/orders", content=body)
        used = server.budget_used()

    assert used == len(body)


def test_body_over_whole_budget_gives_413(make_order):
    with StandIn(budget_bytes=100) as server, _client(server) as http:
        response = http.post("/v1/orders", json=[make_order()])

    assert response.status_code == 413


def test_scripted_statuses_come_in_order(make_order):
    faults = Faults(script=[500, 503, 429, 413])
    with StandIn(faults=faults) as server, _client(server) as http:
        responses = [http.post("/v1/orders", json=[make_order()]) for _ in range(5)]
        counts = server.write_counts("v1")

    assert [r.status_code for r in responses] == [500, 503, 429, 413, 200]
    assert responses[2].headers["Retry-After"] == "1"
    assert responses[2].json()["error"] == "rate_limit_error"
    assert counts == {"order-1": 1}


def test_drop_stores_then_closes_connection(make_order):
    with StandIn(faults=Faults(script=["drop"])) as server, _client(server) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/v1/orders", json=[make_order()])
        after = http.post("/v1/orders", json=[make_order()])
        log = server.requests
        counts = server.write_counts("v1")

    assert after.status_code == 200
    assert counts == {"order-1": 2}
    assert log[0].status is None
    assert log[0].fault == "drop"


def test_close_fault_stores_nothing(make_order):
    with StandIn(faults=Faults(script=["close"])) as server, _client(server) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/v1/orders", json=[make_order()])
        stored = server.orders("v1")

    assert stored == {}


def test_slow_response_still_stores(make_order):
    faults = Faults(script=["slow"], slow_seconds=5.0)
    with StandIn(faults=faults) as server, _client(server, timeout=0.2) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.post("/v1/orders", json=[make_order()])
        stored = server.orders("v1")

    assert set(stored) == {"order-1"}


def test_random_faults_repeat_for_a_seed(make_order):
    faults = Faults(seed=7, error_rate=0.3, drop_rate=0.2)

    def outcomes() -> list[int | str]:
        seen: list[int | str] = []
        with StandIn(faults=faults) as server, _client(server) as http:
            for _ in range(30):
                try:
                    seen.append(
                        http.post("/v1/orders", json=[make_order()]).status_code
                    )
                except httpx.RemoteProtocolError:
                    seen.append("drop")
        return seen

    first = outcomes()
    assert first == outcomes()
    assert {200, 500, "drop"} <= set(first)


def test_uat_validates_and_stores_nothing(make_order):
    with StandIn(store=False) as server, _client(server) as http:
        good = http.post("/v1/orders", json=[make_order()])
        bad = http.post("/v1/orders", json=[make_order(currency="ZZZ")])
        read = http.get("/v1/orders")
        stored = server.orders("v1")
        counts = server.write_counts("v1")

    assert good.status_code == 200
    assert bad.status_code == 400
    assert read.json() == []
    assert stored == {}
    assert counts == {}


def test_last_write_wins(standin, client, make_order):
    client.post("/v1/orders", json=[make_order(tax=1)])
    client.post("/v1/orders", json=[make_order(tax=3)])

    assert standin.orders("v1")["order-1"]["tax"] == 3
    assert standin.write_counts("v1") == {"order-1": 2}


def test_get_filters_by_purchase_date(client, make_order):
    batch = [
        make_order(order_id="jan", time_of_purchase="2024-01-31T23:30:00-05:00"),
        make_order(order_id="feb", time_of_purchase="2024-02-01T00:10:00+01:00"),
        make_order(order_id="mar", time_of_purchase="2024-03-01T12:00:00Z"),
    ]
    client.post("/v2/orders", json=[dict(o, shipping_cost=0) for o in batch])

    def ids(**params: str) -> list[str]:
        response = client.get("/v2/orders", params=params)
        assert response.status_code == 200
        return [order["order_id"] for order in response.json()]

    assert ids(start_date="2024-02-01", end_date="2024-02-29") == ["feb"]
    assert ids(start_date="2024-01-31", end_date="2024-03-01") == ["jan", "feb", "mar"]
    assert ids() == ["jan", "feb", "mar"]
    assert ids(start_date="2025-01-01", end_date="2025-12-31") == []


@pytest.mark.parametrize("value", ["2024/01/01", "2024-02-30", "yesterday"])
def test_get_rejects_a_bad_date(client, value):
    response = client.get("/v1/orders", params={"start_date": value})

    assert response.status_code == 400
    assert "start_date" in response.json()["error"]


def test_patch_updates_and_clears_fields(standin, client, make_order):
    client.post("/v2/orders", json=[make_order("v2", order_tags=["a"])])

    response = client.patch(
        "/v2/orders",
        json=[
            {"order_id": "order-1", "customer_id": "c-9", "tax": 7, "order_tags": None}
        ],
    )
    stored = standin.orders("v2")["order-1"]

    assert response.status_code == 200
    assert stored["tax"] == 7
    assert stored["customer_id"] == "c-9"
    assert "order_tags" not in stored
    assert stored["products"] == make_order("v2")["products"]


def test_patch_of_unknown_order_fails_whole_batch(
    standin, client, make_order, decode_problems
):
    client.post("/v2/orders", json=[make_order("v2")])

    response = client.patch(
        "/v2/orders",
        json=[
            {"order_id": "order-1", "customer_id": "c", "tax": 9},
            {"order_id": "missing", "customer_id": "c"},
        ],
    )

    assert response.status_code == 400
    assert [p["order_id"] for p in decode_problems(response)] == ["missing"]
    assert standin.orders("v2")["order-1"]["tax"] == 2


@pytest.mark.parametrize(
    ("patch", "path"),
    [
        ({"products": []}, "$[0].products"),
        ({"tax": None}, "$[0].tax"),
        ({"currency": "usd"}, "$[0].currency"),
    ],
)
def test_patch_rejects_invalid_change(client, make_order, decode_problems, patch, path):
    client.post("/v2/orders", json=[make_order("v2")])

    entry = {"order_id": "order-1", "customer_id": "customer-1", **patch}
    response = client.patch("/v2/orders", json=[entry])

    assert response.status_code == 400
    assert [p["json_path"] for p in decode_problems(response)] == [path]


def test_patch_on_v1_is_not_allowed(client):
    response = client.patch("/v1/orders", json=[{"order_id": "a", "customer_id": "b"}])

    assert response.status_code == 405
    assert "PATCH" not in response.headers["Allow"]


def test_aliases_and_unknown_paths_give_404(client):
    aliases = client.post("/v2/orders/aliases", json={"aliases": []})
    unknown = client.post("/v3/orders", json=[])

    assert aliases.status_code == 404
    assert unknown.status_code == 404


def test_request_log_records_each_request(standin, client, make_order):
    body = json.dumps([make_order(), make_order(order_id="b")]).encode()
    client.post("/v1/orders", content=body)
    client.get("/v1/orders", params={"start_date": "2024-01-01"})

    post, get = standin.requests

    assert (post.method, post.path, post.status) == ("POST", "/v1/orders", 200)
    assert post.orders == 2
    assert post.body_bytes == len(body)
    assert (get.method, get.status, get.body_bytes) == ("GET", 200, 0)
    assert post.timestamp <= get.timestamp


def test_reset_forgets_orders_and_log(standin, client, make_order):
    client.post("/v1/orders", json=[make_order()])

    standin.reset()

    assert standin.orders("v1") == {}
    assert standin.write_counts("v1") == {}
    assert standin.requests == []


def test_concurrent_posts_are_all_stored(standin, make_order):
    def send(index: int) -> int:
        with _client(standin) as http:
            batch = [make_order(order_id=f"t{index}-{n}") for n in range(20)]
            return http.post("/v1/orders", json=batch).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, range(16)))

    assert statuses == [200] * 16
    assert len(standin.orders("v1")) == 320
    assert len(standin.requests) == 16


def test_request_bodies_are_never_logged(caplog, client, make_order):
    caplog.set_level(logging.DEBUG, logger="connector.standin")
    order = make_order(customer_name="Ada Lovelace", currency="usd")

    client.post("/v1/orders", json=[order])

    assert "POST /v1/orders -> 400" in caplog.text
    assert "Ada Lovelace" not in caplog.text


def test_stop_releases_the_port(make_order):
    server = StandIn().start()
    url = server.url
    server.stop()

    with pytest.raises(httpx.ConnectError):
        httpx.post(url + "/v1/orders", json=[make_order()], headers=AUTH)
    with pytest.raises(RuntimeError):
        _ = server.url


def test_stop_ends_keep_alive_connections(make_order):
    server = StandIn().start()
    http = _client(server)
    assert http.post("/v1/orders", json=[make_order()]).status_code == 200

    server.stop()

    with pytest.raises(httpx.TransportError):
        http.post("/v1/orders", json=[make_order()])
    http.close()


def test_chunked_body_is_read(standin, client, make_order):
    body = json.dumps([make_order()]).encode()

    def chunks() -> Any:
        yield body[:10]
        yield body[10:]

    response = client.post("/v1/orders", content=chunks())

    assert response.status_code == 200
    assert set(standin.orders("v1")) == {"order-1"}


def test_patch_in_uat_validates_only(make_order):
    entry = {"order_id": "never-sent", "customer_id": "c", "tax": 1}
    with StandIn(store=False) as server, _client(server) as http:
        valid = http.patch("/v2/orders", json=[entry])
        invalid = http.patch("/v2/orders", json=[dict(entry, tax="one")])
        stored = server.orders("v2")

    assert valid.status_code == 200
    assert invalid.status_code == 400
    assert stored == {}


def test_patch_over_2500_entries_gives_413(client):
    entries = [{"order_id": f"o-{i}", "customer_id": "c"} for i in range(2501)]

    response = client.patch("/v2/orders", json=entries)

    assert response.status_code == 413
