"""The CLI on a simulated Windows (tests/windows/simulation.py): the README's flow, names and
headers a cp1252 console cannot show, Notepad's key files, Ctrl-C, a large file without fork,
long paths, the web app.

Every command runs in a child process, so these tests assert what a user sees: the exit code,
the lines on the console and the files left behind.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import httpx
import pytest
from runhelpers import (
    REPO,
    USD_LEADS,
    purchases_by_row,
    read_csv,
    results_by_row,
    statuses,
    wait_for,
    write_rows,
)

from importer.sandbox import DEMO_API_KEY, Faults, Sandbox
from windows.simulation import interrupt, run_windows, start_windows

README_SAMPLE = REPO / "sample_data" / "purchases_march_2026.csv"
SAMPLE_ROWS, SAMPLE_TOTAL = 24, "132,011.00 USD"


@pytest.fixture
def sandbox(tmp_path):
    """A sandbox in this process (the "Keen" the simulated Windows child talks to)."""
    with Sandbox(db=tmp_path / "sandbox.sqlite") as sb:
        yield sb


def lines(text: str) -> list[str]:
    return text.splitlines()


def assert_clean(done, code: int = 0) -> None:
    """The exit code is ``code`` and nothing crashed."""
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr


def created_ids(results: Path) -> list[str]:
    rows = read_csv(results)
    assert [r["status"] for r in rows] == ["created"] * len(rows)
    return [r["purchase_id"] for r in rows]


def test_readme_first_command_then_again_sends_nothing(tmp_path):
    shutil.copytree(README_SAMPLE.parent, tmp_path / "sample_data")
    command = ["run", "sample_data/purchases_march_2026.csv", "--sandbox"]
    results = tmp_path / "sample_data" / "purchases_march_2026.results.csv"
    created = tmp_path / "sample_data" / "purchases_march_2026.created.csv"

    first = run_windows(command, cwd=tmp_path)
    assert_clean(first)
    assert first.stdout == ""
    assert f"  created               {SAMPLE_ROWS}   {SAMPLE_TOTAL}" in lines(first.stderr)
    assert f"results: {Path('sample_data', results.name)}" in lines(first.stderr)
    ids = created_ids(results)
    assert len(ids) == len(set(ids)) == SAMPLE_ROWS and all(ids)
    assert [r["purchase_id"] for r in read_csv(created)] == ids

    again = run_windows(command, cwd=tmp_path)
    assert_clean(again)
    assert (
        "nothing to send: every valid row was already handled by an earlier run "
        "(see the results file)"
    ) in lines(again.stderr)
    assert (
        f"  {SAMPLE_ROWS} rows already created by an earlier run of the same file: not sent again"
    ) in lines(again.stderr)
    assert "requests in" not in again.stderr  # not one request
    assert created_ids(results) == ids


def test_names_a_cp1252_console_cannot_show(tmp_path):
    folder = tmp_path / "Dział finansów"
    folder.mkdir()
    source = folder / "zakupy łódź marzec.csv"
    shutil.copy(README_SAMPLE, source)

    done = run_windows(["run", source, "--sandbox"], cwd=tmp_path)
    assert_clean(done)
    shown = str(folder.with_name("Dzia? finansów") / "zakupy ?ód? marzec")
    assert f"results: {shown}.results.csv" in lines(done.stderr)
    assert f"created purchases (for a reversal request): {shown}.created.csv" in lines(done.stderr)
    assert sorted(p.name for p in folder.iterdir()) == [
        "zakupy łódź marzec.created.csv",
        "zakupy łódź marzec.csv",
        "zakupy łódź marzec.manifest.json",
        "zakupy łódź marzec.results.csv",
    ]
    assert len(created_ids(folder / "zakupy łódź marzec.results.csv")) == SAMPLE_ROWS

    ledger = Path(os.environ["KEEN_IMPORT_DATA_DIR"], "sandbox-ledger.sqlite")
    listed = run_windows(["ledger", "list", "--ledger", ledger], cwd=tmp_path)  # to stdout
    assert_clean(listed)
    assert "zakupy ?ód? marzec.csv" in listed.stdout
    assert f"created {SAMPLE_ROWS} ({SAMPLE_TOTAL})" in listed.stdout


def test_a_header_a_cp1252_console_cannot_show(tmp_path):
    header = "Opis produktu (łącznie)"
    text = README_SAMPLE.read_text(encoding="utf-8").replace("Product description", header, 1)
    source = tmp_path / "opis.csv"
    source.write_text(text, encoding="utf-8")
    done = run_windows(
        ["validate", source.name, "--map", f"product_description={header}"], cwd=tmp_path
    )
    assert_clean(done)
    assert "product_description <- 'Opis produktu (??cznie)'" in done.stderr
    assert f"  valid                 {SAMPLE_ROWS}   {SAMPLE_TOTAL}" in lines(done.stderr)
    with open(tmp_path / "opis.results.csv", encoding="utf-8-sig", newline="") as handle:
        assert header in next(csv.reader(handle))


def write_polish_purchases(path: Path) -> Path:
    """Two purchases whose product name a cp1252 console cannot show."""
    rows = [["Lead ID", "Amount", "Date", "Product", "Reference"]]
    rows += [[USD_LEADS[i], f"{10 + i}.00", "2026-03-02", "Łódź", f"PL-{i}"] for i in range(2)]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_sandbox_purchases_redirected_to_a_file_is_utf8(tmp_path, sandbox):
    source = write_polish_purchases(tmp_path / "polskie.csv")
    sent = run_windows(
        ["run", source.name, "--api-url", sandbox.base_url],
        cwd=tmp_path,
        env={"KEEN_API_KEY": DEMO_API_KEY},
    )
    assert_clean(sent)
    listing = tmp_path / "purchases.csv"
    done = run_windows(["sandbox", "purchases", "--db", sandbox.db], cwd=tmp_path, stdout=listing)
    assert_clean(done)
    data = listing.read_bytes()
    assert b"\r\r\n" not in data
    rows = list(csv.DictReader(data.decode("utf-8").splitlines()))
    assert [r["name"] for r in rows] == ["Łódź", "Łódź"]


@pytest.mark.parametrize(
    "encoding", [pytest.param("utf-8-sig", id="utf8-bom"), pytest.param("utf-16", id="utf16-le")]
)
def test_notepad_key_file(tmp_path, sandbox, encoding):
    key_file = tmp_path / "key.txt"
    key_file.write_bytes(f"{DEMO_API_KEY}\r\n".encode(encoding))
    if encoding == "utf-16":
        assert key_file.read_bytes()[:2] == b"\xff\xfe"  # Notepad's "Unicode": LE with a BOM
    source = write_rows(tmp_path / "one.csv", 1)
    done = run_windows(
        ["run", source.name, "--api-url", sandbox.base_url, "--api-key-file", key_file],
        cwd=tmp_path,
    )
    assert_clean(done)
    assert len(sandbox.purchases()) == 1
    assert DEMO_API_KEY not in done.stdout + done.stderr


def test_a_key_file_that_is_not_text_is_one_clear_error(tmp_path, sandbox):
    key_file = tmp_path / "key.txt"
    key_file.write_bytes(f"{DEMO_API_KEY}é\r\n".encode("cp1252"))  # saved as "ANSI"
    source = write_rows(tmp_path / "one.csv", 1)
    done = run_windows(
        ["run", source.name, "--api-url", sandbox.base_url, "--api-key-file", key_file],
        cwd=tmp_path,
    )
    assert_clean(done, 2)
    assert lines(done.stderr) == [
        f"error: the API key file {key_file} is not text",
        "hint: save it from Notepad as UTF-8 (or Unicode) with the key on one line",
    ]
    assert DEMO_API_KEY not in done.stdout + done.stderr
    assert sandbox.stats()["requests"] == 0


@pytest.mark.parametrize("key", ["ctrl-c", "ctrl-break"])
def test_ctrl_c_writes_results_and_the_next_run_sends_the_rest_once(tmp_path, key):
    n = 150
    source = write_rows(tmp_path / "rows.csv", n)
    with Sandbox(db=tmp_path / "sandbox.sqlite", faults=Faults(latency_ms=50)) as sb:
        command = ["run", source.name, "--api-url", sb.base_url, "--concurrency", "4"]
        env = {"KEEN_API_KEY": DEMO_API_KEY}
        child = start_windows(command, cwd=tmp_path, env=env)
        try:
            wait_for(lambda: sb.stats()["purchases"] >= 20 or child.poll() is not None)
            assert child.poll() is None, "the run finished before it could be stopped"
            interrupt(child, key=key)
            _, err = child.communicate(timeout=60)
        finally:
            child.kill()
        assert child.returncode == 130, err
        assert "interrupt: finishing requests in flight" in err  # the handler, not a crash
        assert "interrupted: unsent rows are not_sent" in err
        results = results_by_row(tmp_path / "rows.results.csv")
        counts = statuses(results)
        assert set(counts) == {"created", "not_sent"}  # 0 unconfirmed: requests in flight ended
        assert len(sb.purchases()) == counts["created"]
        assert len(read_csv(tmp_path / "rows.created.csv")) == counts["created"]

        sb.set_faults(Faults())
        again = run_windows(command, cwd=tmp_path, env=env)
        assert_clean(again)
        assert statuses(results_by_row(tmp_path / "rows.results.csv")) == {"created": n}
        assert sb.stats()["create_calls"] == len(sb.purchases()) == n
        assert all(len(p) == 1 for p in purchases_by_row(sb.purchases(), n).values())


def test_a_large_csv_is_checked_in_one_process_without_fork(tmp_path):
    from importer.job.split import MIN_SPLIT_BYTES

    line = f"{USD_LEADS[0]},1500.00,2026-03-02,Pro plan,INV-{{:07d}}\n"
    n = MIN_SPLIT_BYTES // len(line.format(0)) + 1  # past the size Linux checks in two processes
    source = tmp_path / "big.csv"
    body = "".join(line.format(i) for i in range(n))
    source.write_text(
        "Lead ID,Amount,Date,Product,Reference\n" + body, encoding="utf-8", newline=""
    )
    done = run_windows(["validate", source.name], cwd=tmp_path)
    assert_clean(done)
    assert ["valid", f"{n:,}", f"{n * 1500:,}.00"] in [x.split() for x in lines(done.stderr)]
    assert (tmp_path / "big.results.csv").read_bytes().count(b"\n") == n + 1


def test_paths_longer_than_260_characters(tmp_path):
    deep = tmp_path.joinpath(
        *[f"Rozliczenia miesięczne {i:02d} - dział finansów" for i in range(6)]
    )
    out_dir = tmp_path.joinpath(*[f"Wyniki importu {i:02d} - zakupy partnerów" for i in range(8)])
    deep.mkdir(parents=True)
    source = deep / "zakupy marzec 2026 - eksport z systemu księgowego.csv"
    shutil.copy(README_SAMPLE, source)
    assert len(str(source)) > 260 and len(str(out_dir)) > 260

    done = run_windows(["run", source, "--sandbox", "--out-dir", out_dir], cwd=tmp_path)
    assert_clean(done)
    stem = source.stem
    assert len(created_ids(out_dir / f"{stem}.results.csv")) == SAMPLE_ROWS
    assert (out_dir / f"{stem}.created.csv").is_file()
    assert sorted(p.name for p in deep.iterdir()) == [source.name]  # nothing beside the input


def test_the_web_app_serves_then_stops_on_ctrl_c(tmp_path):
    command = ["ui", "--no-browser", "--port", "0", "--workspace", tmp_path / "workspace"]
    child = start_windows(command, cwd=tmp_path)
    try:
        first = child.stdout.readline()
        assert first.startswith("keen-import ui: http://127.0.0.1:"), first
        page = httpx.get(first.split(": ", 1)[1].strip(), follow_redirects=True, trust_env=False)
        assert page.status_code == 200
        interrupt(child)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
    assert child.returncode == 0, err
    assert "Traceback" not in err
