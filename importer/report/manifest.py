"""The audit manifest of a validate or run: input, mapping, options, totals, files written."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from pathlib import Path

from importer.check.summary import Summary
from importer.report.publish import publish, temporary_beside
from importer.version import __version__


def write_json_atomic(path: Path, data: dict) -> Path:
    """Write JSON to a temporary name, then rename it into place."""
    tmp = temporary_beside(path)
    tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    return publish(tmp, path)


def build_manifest(
    *,
    command: str,
    source: Path,
    sha256: str,
    sheet: str | None,
    columns: dict[str, str],
    options: dict,
    api_url: str | None,
    started: datetime,
    finished: datetime,
    summary: Summary,
    results_path: Path | None,
    extra: dict | None = None,
    source_info: dict | None = None,
) -> dict:
    """The audit manifest of one validate/run (never contains the API key).

    ``source_info`` describes a source that is not a file (a DataFrame: name, shape); the
    ``sha256`` is then the hash of its content.
    """
    if source_info is None:
        source_info = {
            "name": source.name,
            "path": str(source.resolve()),
            "size_bytes": source.stat().st_size,
        }
    data = {
        "tool": "keen-import",
        "version": __version__,
        "command": command,
        "input": {**source_info, "sha256": sha256, "sheet": sheet},
        "mapping": columns,
        "options": {k: v for k, v in options.items() if "key" not in k.lower()},
        "api_url": api_url,
        "started_at": started.isoformat(),
        "finished_at": finished.isoformat(),
        "summary": summary.as_dict(),
        "results": str(results_path) if results_path else None,
    }
    if extra:
        data.update(extra)
    return data


def file_sha256(path: Path) -> str:
    """SHA-256 of a file's bytes (identifies an input across runs)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(4 * 1024 * 1024):
            digest.update(block)
    return digest.hexdigest()
