"""The command line that does what a page does, for the page's "Command line" box.

:func:`equivalent_command` is the one function that builds it: ``keen-import run FILE
--mapping FILE.mapping.toml``, then a flag for every choice in force, then where it goes.
The choices are read generically: every field of the job's Mapping (importer.check.mapping)
and every control option of the job (``ImportJob.controls``) that is set becomes
``--field-name VALUE`` (a true yes/no option: ``--field-name``; a list: the flag once per
value). A new option therefore appears without a change here, as long as its flag is named
after it; FLAG_NAMES and FALSE_FLAGS hold the flags that are not, LEFT_OUT the options that
never go on a command line (tests/ui/test_page_text.py parses the command with the CLI's own
parser, so a flag named otherwise fails there first).
"""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from importer.check.mapping import load_mapping_file
from importer.ui.remedies import saved_rows_left_out

#: Options whose flag is not ``--`` + the option's name with dashes.
FLAG_NAMES = {"trigger_ids": "--trigger-id"}
#: Yes/no options whose "no" has a flag of its own.
FALSE_FLAGS = {"day_first": "--month-first"}
#: Never on the command line: the columns are the mapping file's, a proxy may hold a password.
LEFT_OUT = frozenset({"columns", "proxy"})

#: What PowerShell and cmd read as one plain word (a comma makes a list in PowerShell).
_PLAIN = re.compile(r"[\w+=:./\\-]+")


def equivalent_command(
    upload: Path,
    mapping_file: Path | None,
    options: Mapping[str, Any],
    *,
    command: str = "run",
    target: Iterable[str] = (),
    extra: Iterable[str] = (),
    windows: bool | None = None,
) -> str:
    """The keen-import command that does the same, quoted for this computer's shell.

    ``options``: the choices in force, by option name (see :func:`job_options`).
    ``target``: where a run sends (see :func:`target_flags`); ``extra``: flags of the step
    itself ("--dry-run"). ``windows``: quote for PowerShell and cmd (default: on Windows).
    """
    words = ["keen-import", command, str(upload)]
    if mapping_file is not None:
        words += ["--mapping", str(mapping_file)]
    words += option_flags(options)
    words += [*target, *extra]
    return join_words(words, windows=os.name == "nt" if windows is None else windows)


def for_import(folder, session, settings, *, command: str = "run", extra=()) -> str:
    """The command of an import (an importer.ui.workspace.ImportFolder) as its pages show it:
    with the choices of its open job, else (this server has not opened it) of its mapping file."""
    saved = folder.mapping_path if folder.mapping_path.is_file() else None
    if session is not None:
        options = job_options(session.job.mapping, session.job.controls)
    else:
        # Rows left out are never in the mapping file: without them a resume would send them.
        left_out = {"skip_rows": saved_rows_left_out(folder) or None}
        options = {**(job_options(load_mapping_file(saved)) if saved else {}), **left_out}
    target = target_flags(
        sandbox=settings.sandbox, api_url=settings.api_url, ledger=settings.ledger
    )
    return equivalent_command(
        folder.upload,
        saved,
        options,
        command=command,
        target=target if command == "run" else (),
        extra=extra,
    )


def job_options(mapping: Any, controls: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Every option of a Mapping (a dataclass) and the job's control options, by name."""
    found = {f.name: getattr(mapping, f.name) for f in dataclasses.fields(mapping)}
    return {**found, **(controls or {})}


def option_flags(options: Mapping[str, Any]) -> list[str]:
    """The flags that set ``options`` (options not set, or at their default, give none)."""
    words: list[str] = []
    for name, value in options.items():
        if name in LEFT_OUT or value is None:
            continue
        flag = FLAG_NAMES.get(name, "--" + name.replace("_", "-"))
        if value is True:
            words.append(flag)
        elif value is False:
            words += [FALSE_FLAGS[name]] if name in FALSE_FLAGS else []
        elif isinstance(value, tuple | list):
            for item in value:
                words += [flag, str(item)]
        elif str(value) != "":
            words += [flag, str(value)]
    return words


def target_flags(*, sandbox: bool, api_url: str | None, ledger: str | None) -> list[str]:
    """Where a run sends and which ledger it keeps (a ledger URL's password left out)."""
    words = ["--sandbox"] if sandbox else (["--api-url", api_url] if api_url else [])
    if ledger:
        words += ["--ledger", _without_password(ledger)]
    return words


def join_words(words: Iterable[str], *, windows: bool) -> str:
    """One line a shell reads back as ``words``: POSIX quoting, or double quotes on Windows."""
    return " ".join(_quote_windows(w) if windows else shlex.quote(w) for w in words)


def _quote_windows(word: str) -> str:
    """``word`` for PowerShell and cmd: plain, or in double quotes with each quote doubled
    (and backslashes before a quote doubled, as programs read their arguments on Windows)."""
    if _PLAIN.fullmatch(word):
        return word
    body = re.sub(r'(\\*)("|$)', lambda m: m[1] * 2 + m[2], word)
    return '"' + body.replace('"', '""') + '"'


def _without_password(location: str) -> str:
    parts = urlsplit(location)
    if not parts.password:
        return location
    host = parts.hostname or ""
    netloc = f"{parts.username}:PASSWORD@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
