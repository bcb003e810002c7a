"""The review page's remedies: "Choices", "Keep only some rows", "Skip row N" and "Put row N
back" (see importer.ui.remedies). Each changes the job as the flag would, then checks the whole
file again: the cards, the grid, the results file, the manifest and the send page agree."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from importer.errors import KeenImportError
from importer.ui import remedies
from importer.ui.pages import redirect
from importer.ui.routes.columns import check_now
from importer.ui.routes.common import open_session
from importer.ui.routes.review import check_prompt, show, show_error
from importer.ui.wording import with_hint


async def skip_row(request: Request):
    """ "Skip row N": leave the row out (refused for a row created or unconfirmed in Keen)."""
    return await _change(request, _skip)


async def put_back(request: Request):
    """ "Put row N back": the row is judged again like the others."""
    return await _change(request, _put_back)


async def set_choices(request: Request):
    """ "Use these choices": the checkboxes shown, ticked or not, become the job's options."""
    return await _change(request, _choose)


async def keep_rows(request: Request):
    """ "Keep only these rows" (no value ticked: every row of the column is kept again)."""
    return await _change(request, _keep)


async def _change(request: Request, change):
    """Apply ``change`` to the job (under the import's lock), check the file again and go back
    to the review page; a change the job refuses is said on the review page (400)."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    review = f"/imports/{session.folder.id}/review"
    if session.checked is None and session.report is None:
        return check_prompt(request, session, "review")
    form = await request.form()
    back = str(form.get("back", "")) or review
    back = back if back.startswith(review) else review
    try:
        async with session.changing():
            outcome = await run_in_threadpool(change, request, session, form)
    except KeenImportError as exc:
        if session.checked is None:
            return await show_error(request, session, exc)  # the check after the change stopped
        return await show(request, _sentence(exc), 400)
    return redirect(back if outcome == "review" else f"/imports/{session.folder.id}/{outcome}")


def _skip(request: Request, session, form) -> str:
    settings = request.app.state.settings
    session.job.skip_rows(
        [int(request.path_params["row"])],
        reason=remedies.LEFT_OUT_HERE,
        api_url=settings.api_url or "http://127.0.0.1/",
        target=settings.target,
        ledger=settings.ledger,
    )
    return _check_again(request, session)


def _put_back(request: Request, session, form) -> str:
    session.job.unskip_rows([int(request.path_params["row"])])
    return _check_again(request, session)


def _choose(request: Request, session, form) -> str:
    shown = [name for name in form.getlist("shown") if name in remedies.CHOICE_NAMES]
    session.job.set_options(**{name: True if form.get(name) else None for name in shown})
    return _check_again(request, session)


def _keep(request: Request, session, form) -> str:
    job = session.job
    column = str(form.get("column", ""))
    if column not in job.overview.headers:
        raise KeenImportError("Choose a column of the file, then the values to keep.")
    values = [str(v).strip() for v in form.getlist("value") if str(v).strip()]
    if any("," in value for value in values):
        raise KeenImportError("A value with a comma cannot be chosen: commas separate values.")
    job.set_options(where=remedies.where_with(job.mapping.where, column, values))
    return _check_again(request, session)


def _check_again(request: Request, session) -> str:
    """Keep the rows left out with the import, then check every row (the next step's name)."""
    session.folder.update_meta(skips=[skip.as_dict() for skip in session.job.skips])
    session.checked = None  # until the check below has run
    session.report = None  # the rows, cards and send page are this check's from now on
    return check_now(request, session)


def _sentence(exc: KeenImportError) -> str:
    """An error as a sentence of a page: "Row 3 is already created in Keen: ... (hint)."."""
    text = with_hint(exc.message, exc.hint)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


routes = [
    Route("/imports/{import_id}/rows/{row:int}/skip", skip_row, methods=["POST"]),
    Route("/imports/{import_id}/rows/{row:int}/put-back", put_back, methods=["POST"]),
    Route("/imports/{import_id}/choices", set_choices, methods=["POST"]),
    Route("/imports/{import_id}/keep", keep_rows, methods=["POST"]),
]
