"""Web app, match columns: each Keen field, its suggested column, confidence and samples."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from importer.check.mapping import save_mapping_file
from importer.check.matching import APPLIED, LEAD_FIELDS, column_label, empty_columns
from importer.errors import AmbiguousDataError, KeenImportError, MappingError
from importer.records import FIELD_LABELS
from importer.ui.encodings import UNREADABLE, offered, previews
from importer.ui.pages import redirect, render
from importer.ui.remedies import remembered as remembered_mapping
from importer.ui.routes.common import open_session, route_outputs
from importer.ui.wording import with_hint

CONFIDENCE = {
    "exact": "Exact match",
    "synonym": "Known name",
    "values": "Confirm: guessed from the values",
    "none": "No column found",
}
DAY_FIRST = {"": None, "day": True, "month": False}
#: The engine's note for a field no column feeds, said by the Confidence column alone.
NO_COLUMN = "no column found"
#: What the page says when no column feeds either lead field (the engine's error names flags).
LEAD_HELP = (
    f"Choose the column that holds the lead (UUIDs for {FIELD_LABELS['lead_id']}, numbers for "
    f"{FIELD_LABELS['legacy_lead_id']}), then press Check file."
)


async def show(request: Request, error: str | None = None, status_code: int = 200):
    """The mapping table and the options.

    Every dropdown shows the engine's match (importer.check.matching), the user's own mapping
    included: a file without a lead column keeps its other matches. A lead proposed from the
    cells is selected for the user to confirm: it applies only once "Check file" is pressed.
    """
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    job = session.job
    matches = await run_in_threadpool(job.suggest_mapping)
    headers = job.overview.headers
    rows = [
        {
            "match": match,
            "chosen": match.column or "",
            "confidence": _confidence(match),
            "note": "" if match.note == NO_COLUMN else match.note,
            "samples": job.overview.samples.get(match.column, [])[:3] if match.column else [],
        }
        for match in matches
    ]
    shown = {m.field: m.column for m in matches if m.column}
    empty = empty_columns(headers, job.overview.samples)
    encoding = await run_in_threadpool(_encoding_choice, session, shown)
    return render(
        request,
        "columns.html",
        status_code=status_code,
        folder=session.folder,
        overview=job.overview,
        columns=[(h, column_label(headers, i)) for i, h in enumerate(headers)],
        empty=[h for h in headers if h in empty and h not in shown.values()],
        rows=rows,
        # Said once: as the error when "Check file" was pressed without a lead, else as a note.
        lead_help=None if set(LEAD_FIELDS) & set(shown) or error == LEAD_HELP else LEAD_HELP,
        lead_fields=LEAD_FIELDS,
        mapping=job.mapping,
        meta=session.folder.meta(),
        encoding=encoding,
        error=error,
        step="columns",
    )


def _confidence(match) -> str:
    """How sure the match is, in words; a field without a column is "Not used" when the
    engine says why (switched off, not in the file, empty in every sampled row)."""
    if match.confidence == "none" and match.note != NO_COLUMN:
        return "Not used"
    return CONFIDENCE.get(match.confidence, match.confidence)


async def choose_sheet(request: Request):
    """Read another sheet of the workbook."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    form = await request.form()
    sheet = str(form.get("sheet", ""))
    try:
        async with session.changing():
            await run_in_threadpool(session.job.choose_sheet, sheet)
            session.folder.update_meta(sheet=sheet, header_row=None)
    except KeenImportError as exc:
        return await show(request, exc.message, 400)
    return redirect(f"/imports/{session.folder.id}/columns")


async def choose_header_row(request: Request):
    """Take another row of the file as the header row."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    form = await request.form()
    text = str(form.get("header_row", "")).strip()
    if not text.isdigit() or int(text) < 1:
        return await show(request, "The header row is a row number: 1, 2, 3...", 400)
    try:
        async with session.changing():
            await run_in_threadpool(session.job.choose_header_row, int(text))
            session.folder.update_meta(header_row=int(text))
    except KeenImportError as exc:
        return await show(request, exc.message, 400)
    return redirect(f"/imports/{session.folder.id}/columns")


def _detected(session) -> str | None:
    """The encoding the loader detected at upload (None when unknown, or for a workbook)."""
    job = session.job
    fallback = job.overview.encoding if job.mapping.encoding is None else None
    return session.folder.meta().get("detected_encoding") or fallback


def _encoding_choice(session, in_force: dict[str, str]) -> dict | None:
    """The "File encoding" form and its preview; None for a workbook, which has no encoding."""
    overview = session.job.overview
    if overview.encoding is None:
        return None
    choices = offered(_detected(session))
    codecs = [codec for codec, _ in choices]
    chosen = session.job.mapping.encoding or overview.encoding
    product = in_force.get("product_name") or in_force.get("product_description")
    return {
        "choices": choices,
        "selected": codecs.index(chosen) if chosen in codecs else None,
        "unreadable": UNREADABLE,
        "previews": previews(
            overview.path,
            choices,
            encoding=overview.encoding,
            delimiter=overview.delimiter or ",",
            header_row=overview.header_row,
            column=overview.headers.index(product) if product in overview.headers else 0,
        ),
    }


async def choose_encoding(request: Request):
    """Read the CSV file again in the encoding chosen under "File encoding"."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    form = await request.form()
    encoding = str(form.get("encoding", ""))
    if encoding not in dict(offered(_detected(session))):
        return await show(request, "Choose one of the encodings offered.", 400)
    try:
        async with session.changing():
            await run_in_threadpool(_use_encoding, session, encoding)
    except KeenImportError as exc:  # the loader's message: the file cannot be read that way
        return await show(request, exc.message, 400)
    return redirect(f"/imports/{session.folder.id}/columns")


def _use_encoding(session, encoding: str) -> None:
    session.job.choose_encoding(encoding)
    session.checked = None
    session.folder.update_meta(encoding=encoding)
    _save_mapping(session)


async def check_file(request: Request):
    """ "Check file": apply the mapping and options shown, then check every row."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    form = await request.form()
    columns = {k.removeprefix("field:"): str(v) for k, v in form.items() if k.startswith("field:")}
    try:
        async with session.changing():
            await run_in_threadpool(_apply, session, columns, options_from_form(form))
            outcome = await run_in_threadpool(check_now, request, session)
    except MappingError as exc:
        if await run_in_threadpool(_without_lead, session.job):  # the page's words, no flags
            return await show(request, LEAD_HELP, 400)
        return await show(request, with_hint(exc.message, exc.hint), 400)
    except KeenImportError as exc:
        return await show(request, with_hint(exc.message, exc.hint), 400)
    return redirect(f"/imports/{session.folder.id}/{outcome}")


def _without_lead(job) -> bool:
    """True when neither lead field has a column in force (by the mapping or a header; a
    guess from the cells is applied only once chosen)."""
    matches = job.suggest_mapping()
    return not any(m.column and m.confidence in APPLIED for m in matches if m.field in LEAD_FIELDS)


def options_from_form(form) -> dict:
    """The options of the form, as ``ImportJob.set_options`` takes them."""
    text = {
        k: str(form.get(k, "")).strip()
        for k in (
            "decimal",
            "day_first",
            "timezone",
            "period",
            "trigger_ids",
            "action",
            "expect_rows",
            "expect_total",
        )
    }
    rows = text["expect_rows"].replace(",", "")
    if rows and not rows.isdigit():
        raise KeenImportError(f"Expected rows must be a whole number, not {text['expect_rows']!r}")
    return {
        "decimal": text["decimal"] or None,
        "day_first": DAY_FIRST.get(text["day_first"]),
        "timezone": text["timezone"] or None,
        "period": text["period"] or None,
        "trigger_ids": tuple(t for t in text["trigger_ids"].replace(",", " ").split() if t),
        "action": text["action"] or None,
        "expect_rows": int(rows) if rows else None,
        "expect_total": text["expect_total"] or None,
        # "No amount on purpose", "No date on purpose": unticked, a check stops without them
        "no_amount": True if form.get("no_amount") else None,
        "no_date": True if form.get("no_date") else None,
    }


def _apply(session, columns: dict[str, str], options: dict) -> None:
    session.job.apply_mapping(columns)
    session.job.set_options(**options)
    session.checked = None
    session.folder.update_meta(
        expect_rows=options["expect_rows"], expect_total=options["expect_total"]
    )
    _save_mapping(session)


def _save_mapping(session) -> None:
    """Write the import's mapping file (a ``--mapping`` file, with the options in force)."""
    session.folder.save_mapping(session.job.mapping)


def _look_in_ledger(request: Request, session) -> str | None:
    """Show the rows of the upload the ledger would not send as a run would give them; its
    line when it has something to say ("14 rows already created by ...", or that it could
    not be read), None for an upload whose rows are all new."""
    from importer.job.known import ledger_look
    from importer.job.run import ledger_for

    settings = request.app.state.settings
    api_url = settings.api_url or "http://127.0.0.1/"
    location = ledger_for(api_url, target=settings.target, ledger=settings.ledger)
    prepared = session.job.prepared_for_sending()
    note, found = ledger_look(prepared, location, settings.target or api_url, keep_rows=True)
    if found is not None and found.results:
        session.job.show_known(found)
        return note
    return note if found is None and "could not" in note else None


def check_now(request: Request, session) -> str:
    """Check every row; the next step's name ("questions" while some are open, else "review")."""
    if session.job.questions():
        return "questions"
    route_outputs(session, sending=False)
    try:
        session.checked = session.job.check(isolated=True)
    except AmbiguousDataError:
        return "questions"
    note = _look_in_ledger(request, session)
    if note:
        session.checked.notes.append(note)
    remembered = request.app.state.workspace.remembered_mapping(session.job.overview.headers)
    save_mapping_file(  # without what belongs to this file (see remedies.NOT_REMEMBERED)
        remembered_mapping(session.job.mapping),
        remembered,
        comment="remembered by keen-import ui for this set of headers",
    )
    _save_mapping(session)
    # The check's totals with the rows the ledger holds moved out of "valid" (the manifest
    # keeps validate's): History shows these for an import not sent yet.
    by_status = session.checked.summary.as_dict()["by_status"] if note else None
    session.folder.update_meta(checked=True, checked_by_status=by_status)
    return "review"


routes = [
    Route("/imports/{import_id}/columns", show),
    Route("/imports/{import_id}/columns", check_file, methods=["POST"]),
    Route("/imports/{import_id}/sheet", choose_sheet, methods=["POST"]),
    Route("/imports/{import_id}/header-row", choose_header_row, methods=["POST"]),
    Route("/imports/{import_id}/encoding", choose_encoding, methods=["POST"]),
]
