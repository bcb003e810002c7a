"""The ``keen-import sandbox`` command, registered on a throwaway argparse parser."""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from importer.errors import ConfigurationError
from importer.sandbox import DEMO_API_KEY, Faults, Sandbox
from importer.sandbox.cli import faults_from_args, list_purchases, register, run_sandbox

ROOT = Path(__file__).resolve().parents[2]
USD_LEAD = "47378190-96da-4dac-b2ff-5d2a386ecbe0"
FIXED_50 = "aefcfad8-efc8-4849-b3aa-7efe4458a885"
PERCENT_10 = "a28defe3-9bf0-4273-9247-6f57a5e5a5ab"

# Runs the command the way importer/cli.py will: a parser, register(), then args.func(args).
RUNNER = """
import argparse, sys
from importer.sandbox.cli import register
parser = argparse.ArgumentParser(prog="keen-import")
register(parser.add_subparsers(dest="command"))
args = parser.parse_args(sys.argv[1:])
sys.exit(args.func(args))
"""


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="keen-import")
    register(parser.add_subparsers(dest="command"))
    return parser


def test_sandbox_with_options_and_no_nested_command():
    args = make_parser().parse_args(["sandbox", "--port", "9000"])
    assert args.func is run_sandbox
    assert (args.host, args.port, args.world, args.db, args.sandbox_command) == (
        "127.0.0.1",
        9000,
        None,
        None,
        None,
    )
    assert faults_from_args(args) == Faults()


def test_fault_flags():
    args = make_parser().parse_args(
        [
            "sandbox",
            "--latency",
            "20",
            "--jitter",
            "5",
            "--rate-limit",
            "50/s",
            "--p-500",
            "0.01",
            "--p-502",
            "0.02",
            "--p-503",
            "0.03",
            "--p-drop-before",
            "0.04",
            "--p-commit-then-drop",
            "0.05",
            "--p-commit-then-500",
            "0.06",
            "--p-commit-then-slow",
            "0.07",
            "--slow-seconds",
            "9",
            "--seed",
            "7",
        ]
    )
    assert faults_from_args(args) == Faults(
        latency_ms=20,
        jitter_ms=5,
        rate_limit=50,
        p_500=0.01,
        p_502=0.02,
        p_503=0.03,
        p_drop_before=0.04,
        p_commit_then_drop=0.05,
        p_commit_then_500=0.06,
        p_commit_then_slow=0.07,
        slow_seconds=9,
        seed=7,
    )


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(["sandbox", "--p-500", "1.5"], id="probability-above-1"),
        pytest.param(["sandbox", "--rate-limit", "fast"], id="rate-not-a-number"),
        pytest.param(["sandbox", "--rate-limit", "0"], id="rate-zero"),
        pytest.param(["sandbox", "purchases", "--format", "xml"], id="bad-format"),
    ],
)
def test_bad_flags_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        make_parser().parse_args(argv)
    assert exit_info.value.code == 2


def test_probabilities_over_one_in_total_are_a_configuration_error():
    args = make_parser().parse_args(["sandbox", "--p-500", "0.7", "--p-503", "0.7"])
    with pytest.raises(ConfigurationError, match="fault probabilities must add up to at most 1"):
        faults_from_args(args)


@pytest.fixture
def db_with_purchases(tmp_path):
    db = tmp_path / "sandbox.db"
    with Sandbox(db=db) as sb, httpx.Client(headers={"X-Api-Key": sb.api_key}) as c:
        for amount in (100, 0.5):
            body = {
                "action": "create_purchase",
                "lead_id": USD_LEAD,
                "purchase_amount": amount,
                "product_name": "Pro plan",
                "date": "2026-04-21T10:00:00Z",
            }
            assert c.post(sb.base_url, json=body).status_code == 200
        return db, sb.purchases()


def test_purchases_as_csv(db_with_purchases, capsys):
    db, purchases = db_with_purchases
    args = make_parser().parse_args(["sandbox", "purchases", "--db", str(db)])
    assert args.func is list_purchases
    assert args.func(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "id,created_at,lead_id,purchase_amount,date,name,description,product_id,action,"
        "rewards,reward_total"
    )
    first, second = purchases
    assert lines[1:] == [
        f"{first['id']},{first['created_at']},{USD_LEAD},100,2026-04-21T10:00:00Z,Pro plan,,,"
        f"create_purchase,{FIXED_50}=50.00;{PERCENT_10}=10.00,60.00",
        f"{second['id']},{second['created_at']},{USD_LEAD},0.5,2026-04-21T10:00:00Z,Pro plan,,,"
        f"create_purchase,{FIXED_50}=50.00;{PERCENT_10}=0.05,50.05",
    ]


def test_purchases_db_may_come_before_the_nested_command(db_with_purchases, capsys):
    db, purchases = db_with_purchases
    args = make_parser().parse_args(["sandbox", "--db", str(db), "purchases"])
    assert args.func(args) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1 + len(purchases)


def test_purchases_as_json(db_with_purchases, capsys):
    db, purchases = db_with_purchases
    args = make_parser().parse_args(["sandbox", "purchases", "--db", str(db), "--format", "json"])
    assert args.func(args) == 0
    assert json.loads(capsys.readouterr().out) == purchases


def test_purchases_from_a_running_sandbox(capsys):
    with Sandbox() as sb:
        args = make_parser().parse_args(["sandbox", "purchases", "--url", sb.base_url])
        assert args.func(args) == 0
    assert capsys.readouterr().out.count("\n") == 1  # the header only


def test_purchases_without_a_database_file(tmp_path):
    args = make_parser().parse_args(["sandbox", "purchases", "--db", str(tmp_path / "none.db")])
    with pytest.raises(ConfigurationError, match=r"No sandbox database at .*none\.db\."):
        args.func(args)


@pytest.mark.skipif(sys.platform == "win32", reason="stops the child with SIGINT")
def test_foreground_command_prints_url_and_key_and_serves(tmp_path):
    db = tmp_path / "fg.db"
    child = subprocess.Popen(
        [sys.executable, "-u", "-c", RUNNER, "sandbox", "--port", "0", "--db", str(db)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        first = child.stdout.readline().strip()
        second = child.stdout.readline().strip()
        assert first.startswith("Keen sandbox listening on http://127.0.0.1:")
        assert first.endswith("/functions/v1/keen-api")
        assert second == f"Demo API key: {DEMO_API_KEY}"
        url = first.rsplit(" ", 1)[1]
        body = {"action": "create_purchase", "lead_id": USD_LEAD, "purchase_amount": 1}
        response = httpx.post(url, json=body, headers={"X-Api-Key": DEMO_API_KEY})
        assert response.status_code == 200
    finally:
        child.send_signal(signal.SIGINT)
        assert child.wait(timeout=10) == 0
        child.stdout.close()
    with Sandbox(db=db) as sb:
        assert len(sb.purchases()) == 1


def test_port_in_use_is_a_configuration_error():
    with Sandbox() as sb:
        args = make_parser().parse_args(["sandbox", "--port", str(sb.port)])
        with pytest.raises(ConfigurationError, match=f"Cannot listen on 127.0.0.1:{sb.port}"):
            run_sandbox(args)


def test_purchases_piped_into_head_ends_without_a_traceback(tmp_path):
    """`keen-import sandbox purchases | head -1`: a closed pipe is not an error."""
    import subprocess
    import sys

    script = (
        "import importer.sandbox.cli as c\n"
        "rows = [{'id': f'p{i}', 'lead_id': 'x' * 36, 'rewards': []} for i in range(50000)]\n"
        "c.read_purchases = lambda **kw: rows\n"
        "from importer.cli import main\n"
        "raise SystemExit(main(['sandbox', 'purchases']))\n"
    )
    shell = f'{sys.executable} -c "$SCRIPT" | head -1; exit ${{PIPESTATUS[0]}}'
    done = subprocess.run(
        ["bash", "-c", shell],
        env={"SCRIPT": script, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.startswith("id,")
    assert done.stdout.count("\n") == 1
