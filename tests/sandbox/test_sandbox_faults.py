"""Each sandbox fault does exactly what it says, over real HTTP."""

from __future__ import annotations

import time

import httpx
import pytest

from importer.sandbox import Faults, Sandbox
from importer.sandbox import server as sandbox_server

USD_LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
PURCHASE = {"action": "create_purchase", "lead_id": USD_LEAD, "purchase_amount": 100}


def post(sb: Sandbox, body: dict, *, timeout: float = 5.0) -> httpx.Response:
    # a fresh client (one connection) per request: no pooled connection is reused after a drop
    with httpx.Client(headers={"X-Api-Key": sb.api_key}, timeout=timeout, trust_env=False) as c:
        return c.post(sb.base_url, json=body)


@pytest.mark.parametrize(
    ("faults", "status", "error", "retry_after"),
    [
        pytest.param(Faults(p_500=1.0), 500, "Internal server error", None, id="500"),
        pytest.param(Faults(p_502=1.0), 502, "Bad gateway", None, id="502"),
        pytest.param(Faults(p_503=1.0), 503, "Service unavailable", "1", id="503"),
    ],
)
def test_error_before_doing_anything(faults, status, error, retry_after):
    with Sandbox(faults=faults) as sb:
        response = post(sb, PURCHASE)
        assert (response.status_code, response.json()) == (status, {"error": error})
        assert response.headers.get("retry-after") == retry_after
        assert sb.purchases() == []
        # no API key check either: the fault comes first
        with httpx.Client(trust_env=False) as c:
            assert c.post(sb.base_url, json=PURCHASE).status_code == status
        # reads stay clean
        assert post(sb, {"action": "get_channels"}).status_code == 200
        stats = sb.stats()
        assert stats["faults"] == {str(status): 2}
        assert stats["create_calls"] == 2


def test_drop_before_stores_nothing():
    with Sandbox(faults=Faults(p_drop_before=1.0)) as sb:
        with pytest.raises(httpx.RemoteProtocolError):
            post(sb, PURCHASE)
        assert sb.purchases() == []
        assert sb.stats()["faults"] == {"drop_before": 1}


@pytest.mark.parametrize("protocol", ["httptools", "h11"])
def test_commit_then_drop_stores_exactly_one_and_sends_no_reply(monkeypatch, protocol):
    monkeypatch.setattr(sandbox_server, "HTTP_PROTOCOL", protocol)
    with Sandbox(faults=Faults(p_commit_then_drop=1.0)) as sb:
        with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
            post(sb, PURCHASE)
        purchases = sb.purchases()
        assert len(purchases) == 1
        assert purchases[0]["purchase_amount"] == "100"
        # a purchase that fails validation is not committed, so it gets its normal reply
        response = post(sb, dict(PURCHASE, lead_id="nope"))
        assert (response.status_code, response.json()) == (403, {"error": "Lead not accessible"})
        assert sb.stats()["statuses"] == {"403": 1}


def test_commit_then_500_stores_exactly_one():
    with Sandbox(faults=Faults(p_commit_then_500=1.0)) as sb:
        response = post(sb, PURCHASE)
        assert (response.status_code, response.json()) == (500, {"error": "Internal server error"})
        assert len(sb.purchases()) == 1


def test_commit_then_slow_outlasts_the_client_timeout():
    with Sandbox(faults=Faults(p_commit_then_slow=1.0, slow_seconds=1.0)) as sb:
        with pytest.raises(httpx.ReadTimeout):
            post(sb, PURCHASE, timeout=0.3)
        assert len(sb.purchases()) == 1
        started = time.monotonic()
        response = post(sb, PURCHASE, timeout=5)
        assert response.status_code == 200
        assert time.monotonic() - started >= 1.0
        assert len(sb.purchases()) == 2


def test_latency_applies_to_every_request():
    with Sandbox(faults=Faults(latency_ms=150)) as sb:
        for body in (PURCHASE, {"action": "get_channels"}):
            started = time.monotonic()
            assert post(sb, body).status_code == 200
            # The mean is calibrated to the latency; one wait may be up to ~2 ms short.
            assert time.monotonic() - started >= 0.148


def test_injected_latency_is_calibrated_to_its_mean(monkeypatch):
    """Timers that fire 1 ms late: the correction learns it and the mean wait is what was asked."""
    import asyncio
    import types

    import importer.sandbox.app as app

    clock = {"now": 0.0}
    timer_lateness = 0.001

    async def late_sleep(seconds: float) -> None:
        clock["now"] += seconds + timer_lateness

    monkeypatch.setattr(app, "time", types.SimpleNamespace(perf_counter=lambda: clock["now"]))
    monkeypatch.setattr(app, "asyncio", types.SimpleNamespace(sleep=late_sleep))

    async def go() -> list[float]:
        latency, took = app.InjectedLatency(), []
        for _ in range(60):
            started = clock["now"]
            await latency.wait(0.01)
            took.append(clock["now"] - started)
        return took

    took = asyncio.run(go())
    assert took[0] == pytest.approx(0.011)  # uncorrected: the timer's full lateness
    late = sum(took[40:]) / 20 - 0.01  # after calibrating on the first 40
    assert abs(late) < 0.00005
    assert min(took) >= 0.01 - app.InjectedLatency.MAX_CORRECTION


def test_rate_limit_answers_429_with_retry_after():
    with Sandbox(faults=Faults(rate_limit=3)) as sb:
        with httpx.Client(headers={"X-Api-Key": sb.api_key}, trust_env=False) as c:
            statuses = [c.post(sb.base_url, json=PURCHASE).status_code for _ in range(3)]
            limited = c.post(sb.base_url, json={"action": "get_channels"})
        assert statuses == [200, 200, 200]
        assert limited.status_code == 429
        assert limited.json() == {"error": "Rate Limited. Too many requests."}
        assert limited.headers["retry-after"] == "1"
        assert len(sb.purchases()) == 3
        assert sb.stats()["rate_limited"] == 1
        time.sleep(0.4)  # 3 req/s: one token back after a third of a second
        assert post(sb, PURCHASE).status_code == 200


def test_slow_rate_limit_retry_after_is_whole_seconds():
    with Sandbox(faults=Faults(rate_limit=0.25)) as sb:
        assert post(sb, PURCHASE).status_code == 200
        limited = post(sb, PURCHASE)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "4"


def test_revoke_key_gives_401_afterwards():
    with Sandbox() as sb:
        assert post(sb, PURCHASE).status_code == 200
        sb.revoke_key()
        for body in (PURCHASE, {"action": "get_channels"}):
            response = post(sb, body)
            assert (response.status_code, response.json()) == (401, {"error": "Invalid API key"})
        assert len(sb.purchases()) == 1


def test_set_faults_while_running_and_seed_determinism():
    def run(sb: Sandbox) -> list[int]:
        sb.set_faults(Faults(p_500=0.5, seed=42))
        return [post(sb, PURCHASE).status_code for _ in range(12)]

    with Sandbox() as sb:
        assert post(sb, PURCHASE).status_code == 200
        first = run(sb)
        second = run(sb)  # set_faults restarts the random stream from the seed
        assert first == second
        assert set(first) == {200, 500}
        assert len(sb.purchases()) == 1 + 2 * first.count(200)
        sb.set_faults(Faults())
        assert post(sb, PURCHASE).status_code == 200


def test_invalid_faults_are_rejected():
    with pytest.raises(ValueError, match="add up to at most 1"):
        Faults(p_500=0.6, p_commit_then_drop=0.6)
    with pytest.raises(ValueError, match="between 0 and 1"):
        Faults(p_503=-0.1)
    with pytest.raises(ValueError, match="rate_limit"):
        Faults(rate_limit=0)


def test_process_mode(tmp_path):
    db = tmp_path / "p.db"
    with Sandbox(db=db, process=True) as sb:
        assert post(sb, PURCHASE).status_code == 200
        sb.set_faults(Faults(p_commit_then_drop=1.0))
        with pytest.raises(httpx.RemoteProtocolError):
            post(sb, PURCHASE)
        assert len(sb.purchases()) == 2
        stats = sb.stats()
        assert (stats["requests"], stats["create_calls"], stats["purchases"]) == (2, 2, 2)
        sb.revoke_key()
        assert post(sb, {"action": "get_channels"}).status_code == 401
    with Sandbox(db=db) as sb:
        assert len(sb.purchases()) == 2
