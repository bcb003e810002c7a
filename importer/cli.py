"""Command line: argument parsing, progress bars and printing; the work is done by the job API."""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import signal
import sys
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

import importer
from importer import (
    FIELDS,
    RUN_ORDER,
    VALIDATE_ORDER,
    AmbiguousDataError,
    ConfigurationError,
    ImportJob,
    KeenImportError,
    Mapping,
    RowStatus,
    Summary,
    __version__,
    collecting_held_open,
    expand_inputs,
    format_amounts,
    format_summary,
    load_mapping_file,
    parse_map_options,
    same_content,
)
from importer.console import make_console_safe
from importer.ledger_cli import add_ledger_command, add_ledger_option

DEFAULT_API_URL = importer.DEFAULT_API_URL

#: The library's own limit on a workbook's expanded size (``open_import``'s default).
_WORKBOOK_MB = inspect.signature(importer.open_import).parameters["max_xlsx_mb"].default

EXIT_USAGE = 2


def _add_mapping_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading and mapping the file")
    _add_column_options(group)
    _add_reading_options(group)
    group.add_argument(
        "--skip-rows",
        metavar="N,M-K",
        help="leave these rows out (row numbers as in the results file, e.g. 3,5-6): they "
        "are skipped, 'left out with --skip-rows'",
    )
    _add_file_options(group)
    _add_control_options(parser.add_argument_group("finance controls"))


def _add_column_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="FIELD=COLUMN",
        help="map a column to a field (repeatable); fields: " + ", ".join(FIELDS),
    )
    group.add_argument("--mapping", metavar="FILE", help="TOML mapping file (columns + options)")
    group.add_argument("--sheet", help="XLSX sheet name (default: the first sheet)")
    group.add_argument("--encoding", help="CSV encoding (default: detected)")
    group.add_argument("--delimiter", help="CSV delimiter: , ; tab | (default: detected)")


def _add_reading_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--decimal", choices=[".", ","], help="decimal separator of amounts")
    dates = group.add_mutually_exclusive_group()
    dates.add_argument(
        "--day-first",
        dest="day_first",
        action="store_const",
        const=True,
        help="slash dates are day/month/year (23/04/2026)",
    )
    dates.add_argument(
        "--month-first",
        dest="day_first",
        action="store_const",
        const=False,
        help="slash dates are month/day/year (04/23/2026)",
    )
    group.add_argument("--timezone", help="time zone of dates without one (default UTC)")
    group.add_argument(
        "--trigger-id",
        action="append",
        default=[],
        dest="trigger_ids",
        metavar="UUID",
        help="add this reward trigger id to every row (repeatable)",
    )
    group.add_argument(
        "--allow-precision",
        action="store_true",
        default=None,
        help="accept amounts with more than 2 decimal places",
    )
    group.add_argument(
        "--allow-duplicates",
        action="store_true",
        default=None,
        help="do not skip rows that repeat an earlier row",
    )
    group.add_argument(
        "--no-amount",
        action="store_true",
        default=None,
        help="send without an amount (fixed rewards only) when no amount column is mapped",
    )
    group.add_argument(
        "--no-date",
        action="store_true",
        default=None,
        help="send without a date (Keen dates them on arrival) when no date column is mapped",
    )
    group.add_argument(
        "--skip-hidden",
        action="store_true",
        default=None,
        help="skip rows hidden in the workbook (by hand or by a filter)",
    )
    group.add_argument(
        "--keep-null",
        action="store_true",
        default=None,
        help="keep NULL and \\N cells as text (default: they are empty cells)",
    )
    group.add_argument(
        "--where",
        action="append",
        default=[],
        metavar="COLUMN=VALUE[,VALUE...]",
        help="keep only rows whose COLUMN holds one of the values (repeatable); "
        "the others are skipped",
    )
    group.add_argument(
        "--action",
        choices=["create_purchase", "create_purchase_custom"],
        help="API action the rows are meant for (default create_purchase)",
    )


def _add_file_options(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--results",
        metavar="PATH",
        help="results file (default: <input stem>.results.<ext> beside the input)",
    )
    group.add_argument(
        "--out-dir",
        metavar="DIR",
        help="folder for the results, manifest and created list (default: beside the "
        "input); what was sent is in the ledger, whatever the folder",
    )
    group.add_argument(
        "--max-xlsx-mb",
        type=int,
        default=_WORKBOOK_MB,
        metavar="MB",
        help="refuse workbooks that expand to more than this (default %(default)s); any "
        "workbook: .xlsx, .xlsb, .ods or .xls (the name is kept from when .xlsx was the only kind)",
    )
    group.add_argument("--summary-json", metavar="PATH", help="also write the summary as JSON")


def _add_control_options(controls: argparse._ArgumentGroup) -> None:
    controls.add_argument(
        "--period",
        metavar="YYYY-MM[..YYYY-MM]",
        help="rows dated outside this month (or range) are invalid",
    )
    controls.add_argument(
        "--expect-rows",
        type=int,
        metavar="N",
        help="stop (exit 2) unless the file has exactly N purchase rows",
    )
    controls.add_argument(
        "--expect-total",
        metavar="AMOUNT[:CURRENCY]",
        help="stop (exit 2) unless the amounts add up to AMOUNT",
    )


def build_mapping(args: argparse.Namespace) -> Mapping:
    """Mapping file, then --map, then flags: later sources win."""
    mapping = load_mapping_file(args.mapping) if args.mapping else Mapping()
    flags = Mapping(
        day_first=args.day_first,
        decimal=args.decimal,
        sheet=args.sheet,
        timezone=args.timezone,
        trigger_ids=tuple(args.trigger_ids),
        encoding=args.encoding,
        delimiter=args.delimiter,
        allow_precision=args.allow_precision,
        allow_duplicates=args.allow_duplicates,
        action=args.action,
        period=args.period,
        out_dir=args.out_dir,
        no_amount=args.no_amount,
        no_date=args.no_date,
        skip_hidden=args.skip_hidden,
        keep_null=args.keep_null,
        where=tuple(args.where),
    )
    return mapping.merged(parse_map_options(args.map)).merged(flags)


def _progress(desc: str):
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=" rows", file=sys.stderr, disable=None, mininterval=0.5)

    def update(done: int, total: int | None, counts: dict[str, int]) -> None:
        if total is not None:
            bar.total = total
        bar.n = done
        bar.set_postfix(counts, refresh=False)
        bar.refresh()

    return bar, update


def open_job(args: argparse.Namespace, path: Path) -> ImportJob:
    """The import job of one of the command's files, mapped and with its options, questions
    settled.

    An open question (the file cannot tell how to read a column) stops here with the same
    message and hint as ever: the flag that answers it.
    """
    mapping = build_mapping(args)
    job = importer.open_import(
        path,
        sheet=mapping.sheet,
        encoding=mapping.encoding,
        delimiter=mapping.delimiter,
        max_xlsx_mb=args.max_xlsx_mb,
    )
    job.apply_mapping(mapping)
    job.set_options(
        results=args.results,
        expect_rows=args.expect_rows,
        expect_total=args.expect_total,
        skip_rows=args.skip_rows,
    )
    for question in job.questions():
        raise AmbiguousDataError(question.text, column=question.column, hint=question.hint)
    return job


def _print_header(job: ImportJob) -> None:
    view = job.overview
    where = (
        f"sheet {view.sheet!r}"
        if view.sheet
        else (f"encoding {view.encoding}, delimiter {view.delimiter!r}")
    )
    _err(f"{view.path.name}: {where}, header on row {view.header_row}")
    _err(_mapping_line(job.columns, hidden=getattr(job.table, "hidden_columns", ())))
    for match in job.suggest_mapping():
        if job.columns.get(match.field) != match.column or not (match.also or match.doubt):
            continue
        rivals = ", ".join(repr(h) for h in match.also)
        why = f"{rivals} could be it too" if rivals else match.doubt
        _err(
            f"note: {match.field} is read from {match.column!r}; {why}: --map "
            f"{match.field}=COLUMN to read another"
        )
    decisions = {d.kind: d for d in job.decisions()}
    decimal, dates = decisions["decimal"], decisions["day_first"]
    if decimal.column is not None:
        _err(f"decimal separator {decimal.value!r} ({decimal.source})")
    if dates.column is not None and dates.value is not None:
        _err(f"dates read {'day-first' if dates.value else 'month-first'} ({dates.source})")
    elif dates.column is not None and dates.source == "evidence":
        day, month = dates.evidence
        _err(
            f"dates written both ways ({day!r} day-first, {month!r} month-first): "
            "ambiguous dates are invalid"
        )


def _mapping_line(columns: dict[str, str], *, hidden=()) -> str:
    return "mapping used: " + ", ".join(
        f"{k} <- {v!r}" + (" (hidden in the workbook)" if v in hidden else "")
        for k, v in columns.items()
    )


def _err(text: str = "") -> None:
    print(text, file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    """The validate command (with --online, the same path as run --dry-run)."""
    if args.online:
        # The online check is exactly run --dry-run: validation plus the lead/channel preflight.
        args.dry_run, args.yes, args.resend_unconfirmed = True, True, False
        args.resend_changed = False
        args.concurrency, args.rate, args.max_retries = 8, None, 5
        return cmd_run(args)
    files = _read_once(_inputs(args))
    codes, summaries = [], []
    earlier = importer.EarlierFiles() if len(files) > 1 else None
    for path in files:
        if len(files) > 1:
            _err(f"== {path}")
        code, summary = _validate_one(args, path, earlier)
        codes.append(code)
        summaries.append(summary)
    if len(files) > 1:
        _print_total(summaries, len(files), VALIDATE_ORDER)
    return worst_exit_code(codes)


def _read_once(files: list[Path]) -> list[Path]:
    """The files of a command, each content once (a copy is named and left out)."""
    copies = same_content(files) if len(files) > 1 else {}
    for copy, kept in copies.items():
        _err(f"== {copy}: the same file as {kept} (same content): not read again")
    return [path for path in files if path not in copies]


def _validate_one(args: argparse.Namespace, path: Path, earlier) -> tuple[int, Summary]:
    """Validate one file; ``earlier``: the purchases of the files before it (several files)."""
    job = _for_file(path, earlier is not None, lambda: open_job(args, path))
    bar, update = _progress("validating")
    try:
        report = job.check(on_progress=update, index=False)
    finally:
        bar.close()
    _print_header(job)
    _err("summary:")
    for line in format_summary(report.summary, order=VALIDATE_ORDER):
        _err(line)
    for note in report.notes:
        _err(f"  {note}")
    _err(f"  {_ledger_note(job, args, report.summary, earlier)}")
    for line in report.held_open:
        _err(line)
    _err(f"results: {report.results_path}")
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(report.summary.as_dict(), indent=2))
    return report.exit_code, report.summary


def _for_file(path: Path, several: bool, step):
    """``step()``; with several input files, an error it raises names the file."""
    try:
        return step()
    except KeenImportError as exc:
        if several and not exc.message.startswith(path.name):
            exc.message = f"{path}: {exc.message}"
            leave_out = "or leave the file out of the command (nothing was sent)"
            exc.hint = f"{exc.hint}; {leave_out}" if exc.hint else leave_out
        raise


def _ledger_note(job: ImportJob, args: argparse.Namespace, summary, earlier) -> str:
    """What the ledger already holds of the file. A ledger that cannot be read is said
    plainly (and stops the command only when --ledger named it)."""
    return importer.already_imported(
        job,
        api_url=args.api_url or DEFAULT_API_URL,
        target="sandbox" if args.sandbox else None,
        ledger=args.ledger,
        required=bool(args.ledger),
        dates=(summary.first_date, summary.last_date),
        earlier=earlier,
    )


#: Exit codes from the best to the worst: a run of several files exits with its worst.
_EXIT_ORDER = (0, 1, 130, 2)


def worst_exit_code(codes: list[int]) -> int:
    """The worst of several exit codes (0 < 1 < 130 < 2)."""
    return max(codes, key=lambda c: _EXIT_ORDER.index(c) if c in _EXIT_ORDER else 99, default=0)


def _inputs(args: argparse.Namespace) -> list[Path]:
    """The command's input files; options that name one file refuse several."""
    files = expand_inputs(args.file)
    if len(files) > 1:
        single = [
            flag
            for flag, value in (
                ("--results", args.results),
                ("--summary-json", args.summary_json),
                ("--expect-rows", args.expect_rows),
                ("--expect-total", args.expect_total),
                ("--skip-rows", args.skip_rows),
            )
            if value is not None
        ]
        if single:
            raise ConfigurationError(
                f"{', '.join(single)} names one file, but {len(files)} files were given",
                hint="run those files one by one, or leave the option out",
            )
    return files


def cmd_template(args: argparse.Namespace) -> int:
    """The template command: write a blank CSV or XLSX import template."""
    with collecting_held_open() as held:
        output = importer.write_template(
            args.output or f"purchases_template.{args.format}", args.format
        )
    for line in held.messages():
        _err(line)
    _err(f"wrote {output}")
    return 0


def _rate(text: str) -> float:
    value = text.strip().lower().removesuffix("/s").strip()
    try:
        rate = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--rate {text!r} is not N or N/s") from None
    if rate <= 0:
        raise argparse.ArgumentTypeError("--rate must be positive")
    return rate


def read_api_key(args: argparse.Namespace) -> str:
    """The API key from --api-key-file or $KEEN_API_KEY (see importer.read_api_key)."""
    return importer.read_api_key(args.api_key_file)


def _confirm(plans: list, *, resend_unconfirmed: bool) -> bool:
    amounts: dict = {}
    for plan in plans:
        for code, value in plan.amounts_sent(resend_unconfirmed=resend_unconfirmed).items():
            amounts[code] = amounts.get(code, 0) + value
    names = plans[0].path.name if len(plans) == 1 else f"{len(plans)} files"
    rows = sum(p.rows_sent(resend_unconfirmed=resend_unconfirmed) for p in plans)
    _err(f"About to import {rows:,} purchases from {names}")
    _err(f"  total: {format_amounts(amounts)}")
    _err(f"  into:  {plans[0].api_url}")
    _err("Each purchase fires partner rewards. Continue? [y/N] ")
    try:
        answer = input()
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def cmd_run(args: argparse.Namespace) -> int:
    """The run command: import files into Keen or the embedded sandbox. Every file is
    checked and planned before the first is sent (exit 2 means nothing was sent)."""
    from contextlib import ExitStack

    files = _read_once(_inputs(args))
    several = len(files) > 1
    with ExitStack() as stack:
        api_url, api_key, target = _target(args, stack)
        jobs = [_for_file(path, several, lambda p=path: open_job(args, p)) for path in files]
        earlier = importer.EarlierFiles() if several else None
        plans = [
            _for_file(
                job.overview.path,
                several,
                lambda j=job: _plan(j, args, (api_url, api_key, target), earlier),
            )
            for job in jobs
        ]
        interactive = sys.stdin is not None and sys.stdin.isatty()
        ask = interactive and not args.yes and not plans[0].to_this_machine and not args.dry_run
        resend = args.resend_unconfirmed
        valid = sum(p.valid_rows for p in plans)
        if ask and valid and not _confirm(plans, resend_unconfirmed=resend):
            from importer import Cancelled

            raise Cancelled()
        reports = []
        for job in jobs:
            if len(jobs) > 1:
                _err(f"== {job.overview.path}")
            report = _send(job, args)
            reports.append(report)
            _print_run(report)
            if report.interrupted or report.auth_failed:
                break  # the files not sent yet are sent by the same command, run again
    if args.summary_json:
        _write_run_summary(reports[0], Path(args.summary_json))
    if len(jobs) > 1:
        _print_total([r.summary for r in reports], len(jobs), RUN_ORDER, reports)
    return worst_exit_code([r.exit_code for r in reports])


def _plan(job: ImportJob, args: argparse.Namespace, where: tuple, earlier):
    """The plan of one file of the command (``where``: API URL, key and ledger target;
    ``earlier``: the purchases of the files planned before it)."""
    from importer import SendSettings

    api_url, api_key, target = where
    settings = SendSettings(
        api_url=api_url,
        api_key=api_key,
        target=target,
        ledger=args.ledger,
        dry_run=args.dry_run,
        resend_changed=args.resend_changed,
        concurrency=args.concurrency,
        rate=args.rate,
        max_retries=args.max_retries,
        timeout=args.timeout,
        insecure=args.insecure,
        handle_signals=True,
        # The embedded sandbox is on this machine: never through a proxy.
        proxy="none" if args.sandbox and not args.proxy else args.proxy,
        ca_bundle=args.ca_bundle,
    )
    return job.plan(settings, earlier=earlier)


def _send(job: ImportJob, args: argparse.Namespace):
    bar, update = _progress("importing")
    try:
        return job.send(on_progress=update, resend_unconfirmed=args.resend_unconfirmed)
    finally:
        bar.close()


def _print_total(summaries: list[Summary], files: int, order, reports=()) -> None:
    """The total of a command over several files: rows and amounts per status (of the files
    done: a run stopped by Ctrl-C leaves the others to the same command run again)."""
    total = Summary()
    for summary in summaries:
        total.merge(summary)
    done = len(summaries)
    if done == files:
        _err(f"total of {files} files:")
    else:
        _err(f"total of the {done} of {files} files done (the same command does the others):")
    for line in format_summary(total, order=order):
        _err(line)
    already, amounts = 0, Counter()
    for report in reports:
        already += report.already_imported.rows
        amounts.update(report.already_imported.amounts)
    _print_already(already, dict(amounts))


def _print_already(rows: int, amounts: dict) -> None:
    """The summary line of the rows the ledger held as created: 'already imported: ...'."""
    if rows:
        said = "1 row" if rows == 1 else f"{rows:,} rows"
        _err(f"  already imported: {said}, {format_amounts(amounts)}")


def _target(args: argparse.Namespace, stack) -> tuple[str, str, str | None]:
    """Where to send: the embedded sandbox (started here) or --api-url with the user's key."""
    if args.sandbox:
        from importer.sandbox import Sandbox

        sandbox = stack.enter_context(Sandbox())
        _err(f"sandbox running at {sandbox.base_url} (demo company, default world)")
        return sandbox.base_url, sandbox.api_key, "sandbox"
    api_key = read_api_key(args)  # before anything touches the network
    return args.api_url or DEFAULT_API_URL, api_key, None


def _nothing_sent(report) -> str:
    """Why a run sent nothing: its rows were done before, or held back or refused before
    sending (a lead not found, a currency not the channel's, created through another URL)."""
    plan, summary = report.plan, report.summary
    stopped = (RowStatus.INVALID, RowStatus.REJECTED, RowStatus.NOT_SENT, RowStatus.RETRIED)
    held = sum(summary.count(s) for s in stopped) - plan.summary.count(RowStatus.INVALID)
    # Rows the ledger held back before the plan counted them are not among those stopped
    # unless their status is (an unconfirmed row held back is no refused one).
    held -= sum(count for status, count in plan.held_back.items() if status in stopped)
    if held > 0 and plan.rows_to_send:
        rows = "1 row was" if held == 1 else f"{held:,} rows were"
        return f"nothing was sent: {rows} held back before sending (the results file says why)"
    return (
        "nothing to send: every valid row was already handled by an earlier run "
        "(see the results file)"
    )


def _print_run(report) -> None:
    """What a run did: counts, notes, speed, why it stopped, and where its files are."""
    _err(_mapping_line(report.columns))
    if report.dry_run:
        _err("dry run: nothing was created")
    elif not report.plan.valid_rows:
        _err("no valid rows to send (see the results file for the reasons)")
    elif report.nothing_to_send and not report.plan.edited_rows and not report.stopped:
        _err(_nothing_sent(report))
    _err("summary:")
    for line in format_summary(report.summary, order=RUN_ORDER):
        _err(line)
    _print_already(report.already_imported.rows, report.already_imported.amounts)
    for note in report.plan.notes:
        _err(f"  {note}")
    if report.requests:
        digits = 1 if report.duration >= 1 else 2  # a small file takes hundredths of a second
        _err(
            f"  {report.requests:,} requests in {report.duration:.{digits}f} s "
            f"({report.requests_per_second:,.0f} req/s)"
        )
    _print_stops(report)
    for line in report.held_open:
        _err(line)
    _err(f"results: {report.results_path}")
    if report.ledger:
        _err(f"ledger: {report.ledger}")
    if report.created_path:
        _err(f"created purchases (for a reversal request): {report.created_path}")


def _print_stops(report) -> None:
    """Why sending stopped early, and what the user does next."""
    if report.auth_failed:
        _err(
            "error: Invalid API key: the API refused the key; unsent rows are not_sent and "
            "will be sent by the next run"
        )
    if report.outage:
        _err(f"error: {report.outage}; unsent rows are not_sent: run the same command again later")
    if report.interrupted:
        _err("interrupted: unsent rows are not_sent; run the same command again to resume")
    if report.summary.count(RowStatus.UNCONFIRMED):
        _err(
            "some rows are unconfirmed: their request may have created a purchase. Check them "
            "in Keen; re-run with --resend-unconfirmed only for rows that are not there."
        )


def _write_run_summary(report, path: Path) -> None:
    data = report.summary.as_dict()
    data.update(
        duration_seconds=round(report.duration, 3),
        requests=report.requests,
        requests_per_second=round(report.requests_per_second, 1),
        results=str(report.results_path),
        already_imported=report.already_imported.as_dict(),
        exit_code=report.exit_code,
    )
    path.write_text(json.dumps(data, indent=2))


def _add_online_options(parser: argparse.ArgumentParser) -> argparse._ArgumentGroup:
    """--api-url/--sandbox, key file, timeout and --insecure (shared by run and validate)."""
    target = parser.add_argument_group("where to send").add_mutually_exclusive_group()
    target.add_argument(
        "--api-url", default=None, help=f"Keen API endpoint (default {DEFAULT_API_URL})"
    )
    target.add_argument(
        "--sandbox", action="store_true", help="start the embedded Keen sandbox and use it"
    )
    online = parser.add_argument_group("talking to the API")
    online.add_argument(
        "--api-key-file",
        metavar="PATH",
        help="read the API key from this file (default: $KEEN_API_KEY)",
    )
    online.add_argument("--api-key", action=_NoKeyOnTheCommandLine, help=argparse.SUPPRESS)
    online.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="seconds to wait for each answer (30)",
    )
    online.add_argument(
        "--insecure", action="store_true", help="allow plain http to a non-loopback host"
    )
    add_ledger_option(online)
    online.add_argument(
        "--proxy",
        metavar="URL",
        help="send through this proxy, http://[USER:PASSWORD@]HOST:PORT, or 'none' "
        "(default: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY unless NO_PROXY lists the host)",
    )
    online.add_argument(
        "--ca-bundle",
        metavar="FILE",
        help="also trust the certificates in this PEM file (a company root certificate); "
        "the system's trust store is always used",
    )
    return online


def _add_validate_command(commands) -> None:
    validate = commands.add_parser("validate", help="check a file offline and write results")
    validate.add_argument(
        "file", nargs="+", metavar="FILE", help="CSV or Excel files, patterns or folders"
    )
    _add_mapping_options(validate)
    validate.add_argument(
        "--online",
        action="store_true",
        help="also check every lead and channel against the API (as run --dry-run)",
    )
    _add_online_options(validate)
    validate.set_defaults(func=cmd_validate)


def _add_run_command(commands) -> None:
    run = commands.add_parser("run", help="import a file into Keen (or the embedded sandbox)")
    run.add_argument(
        "file",
        nargs="+",
        metavar="FILE",
        help="CSV or Excel files of purchases, patterns (exports/*.csv) or folders",
    )
    _add_mapping_options(run)
    sending = _add_online_options(run)
    sending.add_argument("--concurrency", type=int, default=8, help="requests in flight (8)")
    sending.add_argument(
        "--rate", type=_rate, default=None, metavar="N/s", help="at most N requests per second"
    )
    sending.add_argument(
        "--max-retries",
        type=int,
        default=5,
        help="retries of requests that certainly did not arrive (5)",
    )
    sending.add_argument(
        "--dry-run", action="store_true", help="validate and check leads online; create nothing"
    )
    sending.add_argument(
        "--resend-unconfirmed",
        action="store_true",
        help="send again rows whose earlier request may or may not have "
        "arrived (check in Keen first)",
    )
    sending.add_argument(
        "--resend-changed",
        action="store_true",
        help="send rows an earlier run created with other content as new purchases "
        "(only once Keen reversed the earlier purchase)",
    )
    sending.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    run.set_defaults(func=cmd_run)


class _Parser(argparse.ArgumentParser):
    """A parser (and its commands') that takes options by their whole name only: a prefix
    such as ``--api-key`` was taken for ``--api-key-file``, and the key pasted after it was
    printed back as a file name."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)


class _NoKeyOnTheCommandLine(argparse.Action):
    """``--api-key``: refused without repeating its value (shell history and process lists keep
    what is typed on a command line)."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        parser.error(
            "the API key is not taken on the command line (shell history keeps it): set "
            "KEEN_API_KEY or use --api-key-file PATH"
        )


def build_parser() -> argparse.ArgumentParser:
    """The keen-import argument parser."""
    parser = _Parser(
        prog="keen-import",
        description="Bulk purchase importer for the Keen partner API.",
    )
    parser.add_argument("--version", action="version", version=f"keen-import {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    _add_validate_command(commands)
    template = commands.add_parser("template", help="write a blank import template")
    template.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    template.add_argument("--output", metavar="PATH")
    template.set_defaults(func=cmd_template)
    try:
        from importer.sandbox import cli as sandbox_cli
    except ImportError:  # pragma: no cover - sandbox extras always ship with the package
        sandbox_cli = None
    if sandbox_cli is not None:
        sandbox_cli.register(commands)
    _add_run_command(commands)
    add_ledger_command(commands)
    ui = commands.add_parser("ui", help="open the guided web app in a browser")
    from importer.ui.server import add_arguments, cmd_ui

    add_arguments(ui)
    ui.set_defaults(func=cmd_ui)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the keen-import command; returns the exit code."""
    make_console_safe()
    parser = build_parser()
    args = parser.parse_args(argv)
    _note_typed_proxy_password(args)
    previous = _terminate_like_ctrl_c()
    try:
        return args.func(args)
    except KeenImportError as exc:
        _err(f"error: {exc.message}")
        if exc.hint:
            _err(f"hint: {exc.hint}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        # The reader of the output left (``keen-import ledger list | head``): nothing more to
        # say, and Python's own flush at exit must not fail on the closed pipe again.
        with contextlib.suppress(OSError, AttributeError, ValueError):  # no stdout at all
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _note_typed_proxy_password(args: argparse.Namespace) -> None:
    """A proxy password typed after --proxy is taken (the proxy needs it) but said once: the
    shell's history keeps it, and other users of the machine see it in the process list."""
    proxy = (getattr(args, "proxy", None) or "").strip()
    if proxy and "://" not in proxy:
        proxy = "http://" + proxy  # as the proxy settings read it (curl's way)
    try:
        typed = bool(proxy) and urlsplit(proxy).password is not None
    except ValueError:  # not a URL: the proxy settings' own check says so
        return
    if typed:
        _err(
            "note: the proxy password typed after --proxy stays in your shell's history and "
            "shows in the process list; HTTPS_PROXY or a mapping file's proxy option keeps it out"
        )


def _terminate_like_ctrl_c():
    """SIGTERM (a scheduler stopping the job) cleans up like Ctrl-C: no temporary files left,
    a forked helper stopped, exit 130. ``run`` installs its own handlers while it sends.
    Returns the previous handler (None when not on the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
