"""The API key and the default API URL, as every front end reads them.

Used by the command line and the web app alike; the key is never printed or written.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from importer.errors import ConfigurationError
from importer.read.notepad import notepad_text

__all__ = ["DEFAULT_API_URL", "clean_api_key", "read_api_key"]

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
        return clean_api_key(key, source=f"the API key in {key_file}")
    key = clean_api_key(os.environ.get("KEEN_API_KEY", ""), source="KEEN_API_KEY")
    if not key:
        raise ConfigurationError(
            "no API key: set KEEN_API_KEY or use --api-key-file PATH",
            hint="or try the import against the embedded sandbox with --sandbox",
        )
    return key


def clean_api_key(key: object, *, source: str = "the API key") -> str:
    """``key`` without surrounding whitespace (a key read from a file ends in a line break), as
    every front end sends it. ConfigurationError, never showing the key, for a key that is not
    text or holds a control character (a header could be smuggled in after a line break) or a
    character that is not ASCII (an HTTP header cannot carry it; a typographic quote, a
    non-breaking space). ``source`` names where the key came from."""
    if not isinstance(key, str):
        raise ConfigurationError(
            f"{source} must be text (a str), not {type(key).__name__}",
            hint="the key is a UUID from Settings > API keys in the Keen dashboard",
        )
    key = key.strip()
    odd = _odd_character(key)
    if odd:
        raise ConfigurationError(
            f"{source} holds {odd} inside it; give the key alone",
            hint="the key is a UUID from Settings > API keys in the Keen dashboard",
        )
    return key


def _odd_character(key: str) -> str | None:
    """What the first character of ``key`` that an HTTP header must not carry is, if any."""
    for char in key:
        if char in "\r\n":
            return "a line break"
        if not char.isascii():
            return "a character that is not ASCII"
        if not char.isprintable():
            return "a control character"
    return None


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
