"""An API key file saved by Notepad (UTF-8 with or without BOM, UTF-16) is read; anything else
is one line, never a traceback."""

from __future__ import annotations

import argparse

import pytest

from importer.cli import read_api_key
from importer.errors import ConfigurationError

KEY = "bdd640fb-0667-4ad1-9c80-317fa3b1799d"


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(KEY.encode(), id="utf-8"),
        pytest.param(b"\xef\xbb\xbf" + KEY.encode() + b"\r\n", id="utf-8-bom"),
        pytest.param(("\ufeff" + KEY + "\r\n").encode("utf-16-le"), id="utf-16-le"),
        pytest.param(("\ufeff" + KEY).encode("utf-16-be"), id="utf-16-be"),
        pytest.param(f"KEEN_API_KEY={KEY}\n".encode(), id="env-line"),
        pytest.param(f"export KEEN_API_KEY='{KEY}'\n".encode(), id="export-quoted"),
        pytest.param(f'set KEEN_API_KEY="{KEY}"\r\n'.encode(), id="cmd-set"),
    ],
)
def test_notepad_key_files_are_read(tmp_path, data):
    path = tmp_path / "key.txt"
    path.write_bytes(data)
    assert read_api_key(argparse.Namespace(api_key_file=str(path))) == KEY


def test_a_binary_key_file_is_one_clear_error(tmp_path):
    path = tmp_path / "key.bin"
    path.write_bytes(b"\x80\x81\xfe" * 10)
    with pytest.raises(ConfigurationError) as caught:
        read_api_key(argparse.Namespace(api_key_file=str(path)))
    assert caught.value.message == f"the API key file {path} is not text"
