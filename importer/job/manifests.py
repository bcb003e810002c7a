"""Writing an import's manifest (``<stem>.manifest.json``) after a check or a send."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from importer.check.summary import Summary
from importer.job.checking import PreparedFile, options_dict, source_facts
from importer.read.frame import FrameTable
from importer.report.manifest import build_manifest, write_json_atomic
from importer.report.outputs import OutputNames


def write_manifest(
    prepared: PreparedFile,
    names: OutputNames,
    command: str,
    summary: Summary,
    started: datetime,
    *,
    sha256: str | None,
    writes_results: bool,
    audit: dict[str, Any],
    **extra: Any,
) -> Path:
    """Write the manifest of ``command`` over ``prepared`` (never the key): the file and its
    SHA-256 (computed when ``sha256`` is None), columns, options, counts, the results file when
    it was written, the ``audit`` (answers, edits, rows left out) and ``extra`` facts (``options``
    are merged into the file's own; ``api_url`` is a field of its own)."""
    table = prepared.table
    path = names.manifest
    write_json_atomic(
        path,
        build_manifest(
            command=command,
            source=table.path,
            sha256=sha256 or source_facts(table)[0],
            source_info=table.describe() if isinstance(table, FrameTable) else None,
            sheet=table.sheet,
            columns=prepared.columns,
            options={**options_dict(prepared), **extra.pop("options", {})},
            api_url=extra.pop("api_url", None),
            started=started,
            finished=datetime.now(UTC),
            summary=summary,
            results_path=names.results if writes_results else None,
            extra={**audit, **extra},
        ),
    )
    return path
