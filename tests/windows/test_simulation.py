"""The simulation is in force in the child: what the product's code finds there is Windows'."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from windows.simulation import LockedFiles, run_python_windows, run_windows, start_windows

PROBE = Path(__file__).resolve().parent / "probe_child.py"
REFUSED = "PermissionError 13 32"  # errno EACCES, winerror 32: a sharing violation


def probe(folder: Path, **options) -> dict:
    """The facts tests/windows/probe_child.py gathers in a simulated child."""
    locked = folder / "locked.txt"
    locked.write_text("held", encoding="utf-8")
    done = run_windows([folder], cwd=folder, locked=[locked], python_args=(str(PROBE),), **options)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_child_looks_like_windows(tmp_path):
    facts = probe(tmp_path)
    assert facts.pop("filelock") != "SoftFileLock"  # dependencies keep a real OS lock
    assert facts == {
        "hidden_from_product": dict.fromkeys(
            ("fcntl", "termios", "pwd", "grp", "resource", "posix", "uvloop"), True
        ),
        "os_functions": [],
        "posix_signals": [],
        "sigbreak": 21,
        "start_methods": ["spawn"],
        "fork_context": "ValueError",
        "loop_signal_handlers": "NotImplementedError",
        "sigint_handler": "ok",
        "split_in_two_processes": False,  # the product falls back to one process
        "check_in_forked_child": False,
        "read": "ok",  # Excel lets others read what it holds open
        "open_w": REFUSED,
        "open_a": REFUSED,
        "open_r+": REFUSED,
        "write_text": REFUSED,
        "os_open_write": REFUSED,
        "replace_onto": REFUSED,
        "rename_away": REFUSED,
        "remove": REFUSED,
        "unlink": REFUSED,
        "shutil_move_onto": REFUSED,
        "still_there": "held",
        "unlocked_write": "ok",
        "text_bytes": "café\r\n".encode("cp1252").hex(),  # no encoding given: the ANSI code page
        "linesep": "\r\n",
        "stdout": ["cp1252", "strict"],
        "stderr": ["cp1252", "backslashreplace"],  # CPython's rule for stderr, Windows included
        "user": facts["user"],
        "data_dir": os.environ["KEEN_IMPORT_DATA_DIR"],  # the test's own, from conftest
    }
    assert facts["user"]


@pytest.mark.skipif(sys.platform == "win32", reason="a control of the simulation off Windows")
def test_without_the_switch_the_child_is_plain_posix(tmp_path):
    facts = probe(tmp_path, env={"KEEN_SIM_WINDOWS": "0"})
    assert facts["hidden_from_product"]["fcntl"] is False
    assert "fork" in facts["os_functions"]
    assert facts["sigbreak"] is None
    assert facts["loop_signal_handlers"] == "ok"
    assert facts["open_w"] == "ok"
    assert facts["still_there"] is None  # moved away and deleted: nothing held it open
    assert facts["text_bytes"] == "café\n".encode().hex()


PRINT_THEN_MAKE_SAFE = """
import sys
try:
    print("zakupy łódź")
except UnicodeEncodeError as exc:
    print(f"crashed: {type(exc).__name__} {exc.object[exc.start]}", file=sys.stderr)
from importer.console import make_console_safe
make_console_safe()
print("zakupy łódź")
"""


@pytest.mark.parametrize("console", ["cp1252", "cp850", "cp437"])
def test_a_strict_console_crashes_on_print_unless_made_safe(tmp_path, console):
    done = run_python_windows(PRINT_THEN_MAKE_SAFE, cwd=tmp_path, console=console)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "crashed: UnicodeEncodeError \\u0142\n"  # stderr backslash-replaces
    assert done.stdout == "zakupy ?ód?\n"


def test_files_can_be_opened_and_closed_in_excel_while_a_child_runs(tmp_path):
    target = tmp_path / "march.results.csv"
    excel = LockedFiles(tmp_path / "excel.txt", [target])
    write = f"open({str(target)!r}, 'w', encoding='utf-8').write('x')"
    code = f"""
import sys
try:
    {write}
except PermissionError as exc:
    print(exc, flush=True)
sys.stdin.readline()  # the test closes the file in Excel meanwhile
{write}
print("written")
"""
    child = start_windows([], cwd=tmp_path, locked=excel, python_args=("-c", code))
    try:
        first = child.stdout.readline()
        excel.release_all()
        out, err = child.communicate("closed\n", timeout=30)
    finally:
        child.kill()
    assert first == (
        "[Errno 13] The process cannot access the file because it is being used by another "
        f"process: {str(target)!r}\n"
    )
    assert (child.returncode, out, err) == (0, "written\n", "")
    assert target.read_text(encoding="utf-8") == "x"
