"""The send pass reads a file chunk by chunk: the leads a chunk looked up are not looked up
again for the next, every row of every chunk is in the results, and a stop ends the chunks
not sent yet as ``not_sent``."""

from __future__ import annotations

import json

import pytest
from runhelpers import purchases_by_row, read_csv, results_by_row, statuses, write_rows

import importer
from importer.job.sendpass import SendPass
from importer.sandbox import Faults, Sandbox
from importer.send.client import KeenClient


@pytest.fixture
def slow_sb():
    with Sandbox(faults=Faults(latency_ms=60)) as sandbox:
        yield sandbox


def test_a_file_sent_in_several_chunks_looks_each_lead_up_once(tmp_path, sb, monkeypatch):
    monkeypatch.setattr(SendPass, "CHUNK_ROWS", 5)
    job = importer.open_import(write_rows(tmp_path / "rows.csv", 12), out_dir=tmp_path / "out")
    job.plan(api_url=sb.base_url, api_key=sb.api_key, concurrency=3)
    report = job.send()
    assert (report.exit_code, sb.stats()["create_calls"]) == (0, 12)
    results = results_by_row(tmp_path / "out" / "rows.results.csv")
    assert (list(results), statuses(results)) == (list(range(2, 14)), {"created": 12})
    assert [len(found) for found in purchases_by_row(sb.purchases(), 12).values()] == [1] * 12
    # 12 creates, the 8 distinct leads once each, the channel list once
    manifest = json.loads((tmp_path / "out" / "rows.manifest.json").read_text())
    assert manifest["requests"] == 21
    assert [r["row"] for r in read_csv(tmp_path / "out" / "rows.created.csv")] == [
        str(row) for row in range(2, 14)
    ]


def test_a_stop_in_the_first_chunk_leaves_every_row_of_every_chunk_in_the_results(
    tmp_path, slow_sb, monkeypatch
):
    monkeypatch.setattr(SendPass, "CHUNK_ROWS", 4)
    job = importer.open_import(write_rows(tmp_path / "rows.csv", 30), out_dir=tmp_path / "out")
    job.plan(api_url=slow_sb.base_url, api_key=slow_sb.api_key, concurrency=2)
    create = KeenClient.create_purchase

    async def creating(self, body):
        job.cancel()  # at the first request: rows 2-5 are being sent, 6-31 not read yet
        return await create(self, body)

    monkeypatch.setattr(KeenClient, "create_purchase", creating)
    report = job.send()
    results = results_by_row(tmp_path / "out" / "rows.results.csv")
    sent = slow_sb.stats()["create_calls"]
    assert (report.exit_code, list(results)) == (130, list(range(2, 32)))
    assert statuses(results) == {"created": sent, "not_sent": 30 - sent}
    assert 1 <= sent <= 2  # the requests in flight when it stopped
