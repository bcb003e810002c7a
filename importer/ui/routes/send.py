"""Web app, send: a typed confirmation, then live progress pushed by the server, and Stop."""

from __future__ import annotations

import asyncio
import hashlib
import json

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from importer.errors import KeenImportError
from importer.ui import background, remedies
from importer.ui.command import for_import
from importer.ui.pages import redirect, render
from importer.ui.routes.common import folder_or_404, open_session
from importer.ui.routes.review import check_prompt

EVENT_INTERVAL = 0.5  # seconds between two progress events
CHANGED = (
    "Nothing was sent: the import changed since this page was shown (in another tab?). "
    "Review it again: the rows and totals below are the import's now."
)


def shown_plan(plan, job, *, resend: bool) -> str:
    """A token of what the confirmation shows (rows, totals, hidden rows, API URL) and of how
    the rows are read (column matches, options and answers, fixes, rows left out): the send
    goes ahead only when the plan it makes still shows the same, for the typed count alone
    let another tab's change be sent at amounts the user never saw, and the same count and
    totals let it be sent with other dates or trigger ids (other rewards)."""
    amounts = plan.amounts_sent(resend_unconfirmed=resend)
    shown = [
        plan.rows_sent(resend_unconfirmed=resend),
        sorted((code, str(value)) for code, value in amounts.items()),
        remedies.hidden_rows_line(plan.summary),
        plan.api_url,
        resend,
        repr(job.mapping),
        sorted((k, str(v)) for k, v in job.controls.items() if k != "results"),
        [(e.row, e.column, e.new) for e in job.edits],
    ]
    return hashlib.sha256(json.dumps(shown).encode("utf-8")).hexdigest()[:32]


async def confirm(request: Request, error: str | None = None, status_code: int = 200):
    """The plan (rows, totals per currency, API URL) and the "Rows to send" box."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    settings = request.app.state.settings
    if session.running:
        return redirect(f"/imports/{session.folder.id}/progress")
    resend = request.query_params.get("resend_unconfirmed") == "1"
    plan = None
    if settings.api_key.is_set and settings.api_url:
        if session.checked is None:
            return check_prompt(request, session, "send")
        try:
            async with session.changing():
                plan = await run_in_threadpool(background.make_plan, session, settings)
        except KeenImportError as exc:
            error = exc.message
    to_send = plan.rows_sent(resend_unconfirmed=resend) if plan else 0
    return render(
        request,
        "send.html",
        status_code=status_code,
        folder=session.folder,
        plan=plan,
        notes=plan.notes_for(resend_unconfirmed=resend) if plan else [],
        to_send=to_send,
        # nothing sent: a total of 0, not the zeroed amounts of rows that are not sent
        amounts=plan.amounts_sent(resend_unconfirmed=resend) if to_send else {},
        hidden_rows=remedies.hidden_rows_line(plan.summary) if plan else None,
        shown=shown_plan(plan, session.job, resend=resend) if plan else "",
        resend=resend,
        error=error,
        command=for_import(
            session.folder,
            session,
            settings,
            extra=["--resend-unconfirmed"] if resend else [],
        ),
        step="send",
    )


async def send(request: Request):
    """Send when the number typed is the number of rows to send; anything else sends nothing,
    and so does any number when nothing is left to send."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    settings = request.app.state.settings
    form = await request.form()
    resend = str(form.get("resend_unconfirmed", "")) == "1"
    if not settings.api_key.is_set or not settings.api_url:
        return await confirm(request, "Set an API key first.", 400)
    try:
        async with session.changing():
            plan = await run_in_threadpool(background.make_plan, session, settings)
            refused = _refusal(plan, session.job, form, resend=resend)
            if refused is None:
                background.start(session, settings, resend_unconfirmed=resend, planned=True)
    except KeenImportError as exc:
        refused = (exc.message, 400)
    if refused is not None:
        return await confirm(request, *refused)
    return redirect(f"/imports/{session.folder.id}/progress")


def _refusal(plan, job, form, *, resend: bool) -> tuple[str, int] | None:
    """Why the send must not start (the page's sentence and status), or None."""
    expected = plan.rows_sent(resend_unconfirmed=resend)
    if not expected:  # a send would only write results claiming the rows again
        return "Nothing left to send: nothing was sent.", 400
    if str(form.get("shown", "")) != shown_plan(plan, job, resend=resend):
        return CHANGED, 409
    typed = str(form.get("rows_to_send", "")).replace(",", "").strip()
    if typed != str(expected):
        return f"Nothing was sent: type {expected} (the number of rows to send) to confirm.", 400
    return None


async def progress_page(request: Request):
    """Live progress (updated by /events) and the Stop button."""
    folder = folder_or_404(request, request.path_params["import_id"])
    session = request.app.state.sessions.get(folder.id)
    progress = session.progress if session else None
    return render(
        request,
        "progress.html",
        folder=folder,
        progress=progress.snapshot() if progress else None,
        step="online" if progress and progress.kind == "check online" else "send",
    )


async def events(request: Request):
    """Server-sent events: one progress snapshot every half second until the run ends."""
    folder = folder_or_404(request, request.path_params["import_id"])
    session = request.app.state.sessions.get(folder.id)

    async def stream():
        while True:
            progress = session.progress if session else None
            data = progress.snapshot() if progress else {"finished": True, "none": True}
            yield f"event: progress\ndata: {json.dumps(data)}\n\n"
            if data["finished"] or await request.is_disconnected():
                return
            await asyncio.sleep(EVENT_INTERVAL)

    return StreamingResponse(stream(), media_type="text/event-stream")


async def stop(request: Request):
    """Stop: like the first Ctrl-C, requests in flight finish and the results are written."""
    folder = folder_or_404(request, request.path_params["import_id"])
    session = request.app.state.sessions.get(folder.id)
    if session is not None and session.running:
        session.job.cancel()
        session.progress.stopping = True
    return redirect(f"/imports/{folder.id}/progress")


routes = [
    Route("/imports/{import_id}/send", confirm),
    Route("/imports/{import_id}/send", send, methods=["POST"]),
    Route("/imports/{import_id}/progress", progress_page),
    Route("/imports/{import_id}/events", events),
    Route("/imports/{import_id}/stop", stop, methods=["POST"]),
]
