"""Web app, review: summary cards and the rows, served page by page from the server."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from importer.errors import KeenImportError
from importer.ui import grid, remedies
from importer.ui.command import for_import
from importer.ui.pages import redirect, render
from importer.ui.routes.columns import check_now
from importer.ui.routes.common import STATUS_ORDER, open_session, summary_cards
from importer.ui.wording import rows_for_page, with_hint

PAGE_SIZE = 100
FIXED_BEFORE_SENDING = "Rows are fixed before sending: this import was sent."


def grid_filters(request: Request) -> dict:
    """Status, warning, search text and page of the grid, from the query string."""
    query = request.query_params
    page = query.get("page", "1")
    status = query.get("status")
    return {
        "status": status if status in STATUS_ORDER else None,  # an old bookmark: every row
        "warning": query.get("warning") or None,
        "q": (query.get("q") or "").strip() or None,
        "page": max(1, int(page)) if page.isdigit() else 1,
    }


async def ensure_checked(request: Request, session) -> str | None:
    """Check the file if this server has not yet; the step to go to instead, if any."""
    if session.checked is not None:
        return None
    async with session.changing():
        if session.checked is None:
            outcome = await run_in_threadpool(check_now, request, session)
            if outcome != "review":
                return outcome
    return None


def check_prompt(request: Request, session, next_step: str):
    """The "Check file" button, for a page that needs a check this server has not run yet.

    A GET never checks by itself: a check rewrites the results file and the manifest.
    """
    return render(request, "check.html", folder=session.folder, next_step=next_step, step=next_step)


async def check(request: Request):
    """ "Check file" pressed on the prompt: check, then go on to the page that asked."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    form = await request.form()
    wanted = str(form.get("next", ""))
    next_step = wanted if wanted in ("review", "send") else "review"
    try:
        elsewhere = await ensure_checked(request, session)
    except KeenImportError as exc:
        return await show_error(request, session, exc)
    return redirect(f"/imports/{session.folder.id}/{elsewhere or next_step}")


async def show_error(request: Request, session, exc: KeenImportError):
    """A check that cannot run (e.g. control totals): back to the column matches, with why."""
    from importer.ui.routes.columns import show as columns_page

    return await columns_page(request, with_hint(exc.message, exc.hint), 400)


async def show(request: Request, message: str | None = None, status_code: int = 200):
    """Cards, notes and one page of the grid."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    if session.checked is None:
        return check_prompt(request, session, "review")
    report = session.checked
    filters = grid_filters(request)
    after_run = session.after_run
    page = await run_in_threadpool(_grid_page, session.job, filters)
    page.rows = rows_for_page(page.rows)  # reasons in page words, not the CLI's flags
    return render(
        request,
        "review.html",
        status_code=status_code,
        folder=session.folder,
        report=report,
        cards=summary_cards(session.report.summary if after_run else report.summary),
        summary=session.report.summary if after_run else report.summary,
        after_run=after_run,
        sent=session.sent,
        headers=session.job.overview.headers,
        amount_header=session.job.columns.get("purchase_amount"),
        date_header=session.job.columns.get("date"),
        field_of={header: name for name, header in session.job.columns.items() if header},
        zone=session.job.mapping.timezone or "UTC",
        read_as=grid.read_text,
        read_title=grid.read_title,
        status_counts=await run_in_threadpool(session.job.status_counts),
        page=page,
        pages=_last_page(page.total),
        filters=filters,
        statuses=STATUS_ORDER,
        page_url=lambda n: _page_url(session.folder.id, filters, n),
        edits=session.job.edits,
        **await run_in_threadpool(  # "Choices", "Keep only some rows", "Skip row N"
            remedies.review_context,
            session.job,
            report.summary,
            request.query_params.get("keep_column"),
        ),
        message=message or _saved_message(session.folder, request.query_params.get("saved")),
        failed=status_code >= 400,  # a fix refused: an alert, not a note
        command=for_import(session.folder, session, request.app.state.settings, command="validate"),
        step="review",
    )


def _grid_page(job, filters: dict):
    """The rows of the page ``filters`` ask for; a page past the last (an old link, the way
    back from a fix that emptied it) is the last page, and ``filters["page"]`` says so."""

    def fetch():
        return job.rows(
            offset=(filters["page"] - 1) * PAGE_SIZE,
            limit=PAGE_SIZE,
            status=filters["status"],
            warning=filters["warning"],
            search=filters["q"],
        )

    page = fetch()
    if filters["page"] > _last_page(page.total):
        filters["page"] = _last_page(page.total)
        page = fetch()
    return page


def _last_page(rows: int) -> int:
    return max(1, -(-rows // PAGE_SIZE))


def _saved_message(folder, saved: str | None) -> str | None:
    """The note after "Save corrected file" (?saved=corrected), naming the copy this import
    wrote; any other value shows nothing, for the link's text is not the app's (a spoof)."""
    corrected = folder.file("corrected") if saved == "corrected" else None
    return f"Saved the corrected file {corrected.name}." if corrected else None


def _page_url(import_id: str, filters: dict, page: int) -> str:
    query = {"status": filters["status"], "warning": filters["warning"], "q": filters["q"]}
    query = {k: v for k, v in query.items() if v}
    query["page"] = page
    return f"/imports/{import_id}/review?{urlencode(query)}#grid"


async def fix_row(request: Request):
    """Fix in place: each changed cell goes through the job, then the file is checked again."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    row = int(request.path_params["row"])
    form = await request.form()
    back = str(form.get("back", "")) or f"/imports/{session.folder.id}/review"
    if not back.startswith(f"/imports/{session.folder.id}/review"):
        back = f"/imports/{session.folder.id}/review"
    changes = {
        key[5:]: str(value)
        for key, value in form.items()
        if key.startswith("cell:") and str(value) != str(form.get("was:" + key[5:], ""))
    }
    edits = len(session.job.edits)
    try:
        async with session.changing():
            if session.sent:
                return await show(request, FIXED_BEFORE_SENDING, 400)
            if (clash := _changed_meanwhile(session, row, changes, form)) is not None:
                return await show(request, clash, 409)
            await run_in_threadpool(edit_and_check, request, session, row, changes)
    except KeenImportError as exc:
        if session.checked is None and len(session.job.edits) != edits:
            return await show_error(request, session, exc)  # the check after the edit stopped
        return await show(request, exc.message, 400)
    except (KeyError, IndexError, ValueError):  # a row number that is not in the file
        return await show(request, f"There is no row {row} in this file.", 404)
    return redirect(back)


def _changed_meanwhile(session, row: int, changes: dict[str, str], form) -> str | None:
    """Why a fix must not be applied: a cell it changes was fixed since its page was shown (in
    another tab), so the value the page showed is not the cell's any more; else None."""
    now = {edit.column: edit.new for edit in session.job.edits if edit.row == row}
    for column in changes:
        if column in now and now[column] != str(form.get("was:" + column, "")):
            return (
                f"Row {row} was fixed meanwhile (in another tab?): {column} is now "
                f"{now[column]!r}. Nothing was changed; look at the row and fix it again."
            )
    return None


def edit_and_check(request: Request, session, row: int, changes: dict[str, str]) -> None:
    """Correct cells of one row through the job, then check the whole file again as "Check
    file" does: the cards, the grid and its counts, the results file, the manifest and the
    send page then come from one pass. (The job re-checks an edited row alone at once, but
    that verdict cannot see the other rows, e.g. a copy of another purchase it now is, and
    the check's totals would still count the row's old verdict.)"""
    before = len(session.job.edits)
    try:
        for column, value in changes.items():
            session.job.edit(row, column, value)
    finally:
        if len(session.job.edits) != before:
            session.checked = None  # until the check below has run with the edits
            session.report = None  # an online check's verdicts: the rows are this check's now
            check_now(request, session)


async def save_corrected(request: Request):
    """ "Save corrected file": <stem>.corrected.<ext> in the import folder; the upload stays."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    async with session.changing():
        await run_in_threadpool(session.job.save_corrected)
    return redirect(f"/imports/{session.folder.id}/review?saved=corrected")


routes = [
    Route("/imports/{import_id}/review", show),
    Route("/imports/{import_id}/check", check, methods=["POST"]),
    Route("/imports/{import_id}/rows/{row:int}", fix_row, methods=["POST"]),
    Route("/imports/{import_id}/corrected", save_corrected, methods=["POST"]),
]
