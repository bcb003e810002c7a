"""The API key and the default API URL, as every front end reads them.

Used by the command line and the web app alike; the key is never printed or written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from importer.errors import ConfigurationError
from importer.read.notepad import notepad_text

__all__ = ["DEFAULT_API_URL", "read_api_key"]

#: The Keen API every command sends to unless told otherwise.
DEFAULT_API_URL = "https://data.keenpartner.com/functions/v1/keen-api"


def read_api_key(key_file: str | None = None) -> str:
    """The API key from ``key_file`` (--api-key-file) or $KEEN_API_KEY, never from a
    command-line value. ConfigurationError, in one line, when there is none."""
    if key_file:
        try:
            key = _key_text(Path(key_file).read_bytes())
        except OSError as exc:  # not named: what was typed may be the key itself
            raise ConfigurationError(
                f"cannot read the API key file given to --api-key-file: {exc.strerror}",
                hint="give the path of a text file holding the key, or set KEEN_API_KEY",
            ) from None
        except UnicodeDecodeError:
            raise ConfigurationError(
                f"the API key file {key_file} is not text",
                hint="save it from Notepad as UTF-8 (or Unicode) with the key on one line",
            ) from None
        if not key:
            raise ConfigurationError(f"the API key file {key_file} is empty")
        return key
    key = os.environ.get("KEEN_API_KEY", "").strip()
    if not key:
        raise ConfigurationError(
            "no API key: set KEEN_API_KEY or use --api-key-file PATH",
            hint="or try the import against the embedded sandbox with --sandbox",
        )
    return key


def _key_text(data: bytes) -> str:
    """The key in a file saved by Notepad: UTF-8 with or without a BOM, or UTF-16 ("Unicode");
    also a file written as an environment line (``KEEN_API_KEY=...``, as a .env file holds it,
    with ``export`` or quotes): its value is the key."""
    text = notepad_text(data).strip()
    line = _ENV_LINE.fullmatch(text)
    return line["key"].strip() if line else text


# "KEEN_API_KEY=KEY", "export KEEN_API_KEY='KEY'", "set KEEN_API_KEY=KEY" (Windows cmd)
_ENV_LINE = re.compile(
    r"(?:export\s+|set\s+|\$env:)?KEEN_API_KEY\s*=\s*(?P<q>[\"']?)(?P<key>[^\"'\r\n]+)(?P=q)",
    re.IGNORECASE,
)
