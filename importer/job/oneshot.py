"""The one-call import, ``run_import``: open a file (or DataFrame), map, plan and send it.

Apart from :mod:`importer.job.run`, which the job's own ``plan`` and ``send`` use, so that
nothing there imports the job back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from importer.check.mapping import Mapping
from importer.errors import ConfigurationError
from importer.job.checking import Source
from importer.job.model import ProgressCallback
from importer.job.run import (
    NAME_THE_FRAME,
    Cancelled,
    ImportPlan,
    ImportReport,
    SendSettings,
)
from importer.job.validate import open_mapped
from importer.read.frame import is_frame
from importer.read.zipcheck import DEFAULT_MAX_WORKBOOK_MB
from importer.send.credentials import DEFAULT_API_URL

__all__ = ["run_import"]


def run_import(
    path: Source,
    mapping: Mapping | dict[str, str] | str | Path | None = None,
    *,
    api_key: str,
    name: str | None = None,
    api_url: str = DEFAULT_API_URL,
    target: str | None = None,
    ledger: str | Path | None = None,
    concurrency: int = 8,
    rate: float | None = None,
    max_retries: int = 5,
    timeout: float = 30.0,
    results: str | Path | None = None,
    dry_run: bool = False,
    resend_unconfirmed: bool = False,
    resend_changed: bool = False,
    insecure: bool = False,
    max_xlsx_mb: int = DEFAULT_MAX_WORKBOOK_MB,
    expect_rows: int | None = None,
    expect_total: str | None = None,
    confirm: Callable[[ImportPlan], bool] | None = None,
    on_progress: ProgressCallback | None = None,
    handle_signals: bool = False,
    transport=None,
    out_dir: str | Path | None = None,
    proxy: str | None = None,
    ca_bundle: str | Path | None = None,
) -> ImportReport:
    """Import a CSV/XLSX file (or a pandas DataFrame) of purchases into Keen; write the results.

    A DataFrame needs a ``name`` (how the ledger tells a re-run of this import from another
    import): its manifest and created list go beside ``results``, in
    ``out_dir``, or else in the current folder; its results file is written only when
    ``results`` is given (``report.results_frame()`` has the verdicts either way).

    The one-call form of ``open_import``, ``apply_mapping``, ``plan`` and ``send``.
    ``target`` names the Keen account in the ledger (defaults to ``api_url``): rows created
    against one target are never taken as created against another. ``ledger`` is a SQLite file
    or a PostgreSQL URL (default: KEEN_IMPORT_LEDGER, else the per-user ledger; see
    :mod:`importer.ledger.location`). ``confirm`` is called with
    the plan before the first request; returning False cancels (nothing is sent).
    ``resend_changed`` sends rows an earlier run created with other content as new purchases
    (by default they are not sent: see :mod:`importer.send.changed`).
    ``handle_signals`` installs SIGINT/SIGTERM handlers (the CLI does): the first stops taking
    rows and lets requests in flight finish; the second aborts at once.
    ``proxy`` (a URL, or "none" for a direct connection) and ``ca_bundle`` (a PEM file trusted
    besides the system store) win over the mapping's options and the environment's proxy
    variables (see :mod:`importer.send.network`).
    """
    settings = SendSettings(
        api_url=api_url,
        api_key=api_key,
        target=target,
        ledger=ledger,
        dry_run=dry_run,
        resend_changed=resend_changed,
        concurrency=concurrency,
        rate=rate,
        max_retries=max_retries,
        timeout=timeout,
        insecure=insecure,
        transport=transport,
        handle_signals=handle_signals,
        proxy=proxy,
        ca_bundle=ca_bundle,
    )
    mapping = Mapping.of(mapping)
    settings.with_mapping(mapping).checked()  # a bad key, URL or proxy stops before reading
    if is_frame(path) and name is None:
        raise ConfigurationError(NAME_THE_FRAME)
    job = open_mapped(path, mapping, max_xlsx_mb=max_xlsx_mb, out_dir=out_dir, name=name)
    job.set_options(results=results, expect_rows=expect_rows, expect_total=expect_total)
    plan = job.plan(settings)
    if confirm is not None and plan.valid_rows and not dry_run and not confirm(plan):
        raise Cancelled()
    return job.send(on_progress=on_progress, resend_unconfirmed=resend_unconfirmed)
