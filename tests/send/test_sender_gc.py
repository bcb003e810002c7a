"""While sending, Python's garbage collector collects its youngest generation every 20,000
allocations (not 700) and skips the objects that existed before; both are restored after the
send, whether it ends well or not."""

from __future__ import annotations

import asyncio
import gc

import pytest
from test_sender import records

from importer.send.client import Outcome, OutcomeKind
from importer.send.sender import send_all


class WatchingClient:
    """Creates every purchase and notes the collector's youngest threshold at each request;
    ``fail_at``: the row whose request raises (a bug, not an answer)."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.thresholds: list[int] = []
        self.fail_at = fail_at

    async def create_purchase(self, body: dict) -> Outcome:
        self.thresholds.append(gc.get_threshold()[0])
        row = int(body["product_name"][1:])
        await asyncio.sleep(0)
        if row == self.fail_at:
            raise RuntimeError("a bug in the client")
        return Outcome(OutcomeKind.CREATED, 200, purchase_id=f"p-{row}")


@pytest.mark.parametrize("fail_at", [None, 5])
def test_the_collector_is_tuned_while_sending_and_restored_after(fail_at):
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    client = WatchingClient(fail_at)
    run = send_all(records(range(2, 12)), client=client, concurrency=2)
    if fail_at is None:
        report = asyncio.run(run)
        assert report.counts["created"] == 10
    else:
        with pytest.raises(RuntimeError, match="a bug in the client"):
            asyncio.run(run)
    assert set(client.thresholds) == {20_000}
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen
