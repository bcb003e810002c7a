"""The sync API called where an event loop already runs (a Jupyter cell, an async app)."""

from __future__ import annotations

import _thread
import asyncio
import threading
import time
from decimal import Decimal

import pandas as pd
import pytest
from runhelpers import USD_LEADS

import importer
from importer.sandbox import DEMO_API_KEY, Sandbox


def _frame(rows: int = 3) -> pd.DataFrame:
    """``rows`` valid purchases of 10.00, 20.00, 30.00, ..."""
    return pd.DataFrame(
        {
            "Lead ID": [USD_LEADS[i % len(USD_LEADS)] for i in range(rows)],
            "Amount": [f"{10 * (i + 1)}.00" for i in range(rows)],
            "Date": ["2026-03-02"] * rows,
            "Reference": [f"LOOP-{i + 1}" for i in range(rows)],
        }
    )


def test_run_import_inside_a_running_event_loop_creates_each_purchase_once(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a DataFrame's manifest and created list go to the cwd

    async def cell():
        return importer.run_import(
            _frame(), name="march", api_key=DEMO_API_KEY, api_url=sandbox.base_url
        )

    with Sandbox() as sandbox:
        report = asyncio.run(cell())
        purchases = sandbox.purchases()

    assert report.exit_code == 0 and not report.interrupted
    assert report.summary.count("created") == 3
    assert sorted(p["purchase_amount"] for p in purchases) == ["10.00", "20.00", "30.00"]
    statuses = report.results_frame()["status"].tolist()
    assert statuses == ["created", "created", "created"]
    assert report.plan.amounts == {"": Decimal("60.00")}  # the file names no currency


def test_job_send_inside_a_running_loop_stops_on_cancel_before_sending(tmp_path):
    async def cell():
        job = importer.open_import(_frame(), name="march", out_dir=tmp_path)
        job.plan(api_url=sandbox.base_url, api_key=DEMO_API_KEY)
        job.cancel()
        return job.send(), threading.active_count()

    with Sandbox() as sandbox:
        before = threading.active_count()
        report, after = asyncio.run(cell())
        purchases = sandbox.purchases()

    assert report.interrupted and report.exit_code == 130
    assert purchases == []
    assert report.summary.count("not_sent") == 3
    assert after == before  # the worker thread is gone once send() returns


def test_ctrl_c_while_a_loop_runs_stops_the_send_and_a_rerun_sends_the_rest(tmp_path):
    def interrupt(done, total, counts):
        if not interrupted:
            interrupted.append(done)
            _thread.interrupt_main()  # Ctrl-C reaches the thread whose loop runs the cell
            time.sleep(0.5)

    async def cell():
        return importer.run_import(
            _frame(40), name="march", api_key=DEMO_API_KEY, api_url=sandbox.base_url,
            out_dir=tmp_path, on_progress=interrupt, concurrency=1,
        )  # fmt: skip

    interrupted: list[int] = []
    loop = asyncio.new_event_loop()  # as a notebook's: SIGINT is Python's KeyboardInterrupt
    with Sandbox() as sandbox:
        before = threading.active_count()
        with pytest.raises(KeyboardInterrupt):
            loop.run_until_complete(cell())
        loop.close()
        assert threading.active_count() == before
        first = len(sandbox.purchases())
        rerun = importer.run_import(
            _frame(40), name="march", api_key=DEMO_API_KEY, api_url=sandbox.base_url,
            out_dir=tmp_path,
        )  # fmt: skip
        amounts = sorted(p["purchase_amount"] for p in sandbox.purchases())

    assert interrupted and 0 < first < 40  # stopped partway, as Ctrl-C does without a loop
    assert amounts == sorted(f"{10 * (i + 1)}.00" for i in range(40))  # each one once
    assert rerun.sent_this_run == 40 - first
    # the row in flight at the interrupt may be unconfirmed (created, its answer not awaited)
    counts = {status: totals.rows for status, totals in rerun.summary.by_status.items()}
    assert counts in ({"created": 40}, {"created": 39, "unconfirmed": 1})
