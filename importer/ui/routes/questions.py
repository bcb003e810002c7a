"""Web app, questions: every ambiguity that stops the CLI, asked with examples from the file."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.routing import Route

from importer.errors import KeenImportError
from importer.ui.pages import redirect, render
from importer.ui.routes.columns import check_now
from importer.ui.routes.common import open_session


async def show(request: Request, error: str | None = None, status_code: int = 200):
    """The open questions, each with its examples and choices."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    questions = await run_in_threadpool(session.job.questions)
    return render(
        request,
        "questions.html",
        status_code=status_code,
        folder=session.folder,
        questions=questions,
        answered=bool(session.job.answers),
        error=error,
        step="questions",
    )


async def answer(request: Request):
    """Record the answers given, then check the file (or ask what is still open)."""
    session = await run_in_threadpool(open_session, request, request.path_params["import_id"])
    form = await request.form()
    answers = {
        k.removeprefix("answer:"): str(v) for k, v in form.items() if k.startswith("answer:")
    }
    if not answers:
        return await show(request, "Choose an answer for each question.", 400)
    try:
        async with session.changing():
            for question_id, value in answers.items():
                await run_in_threadpool(session.job.answer, question_id, value)
            outcome = await run_in_threadpool(check_now, request, session)
    except KeenImportError as exc:
        return await show(request, exc.message, 400)
    return redirect(f"/imports/{session.folder.id}/{outcome}")


routes = [
    Route("/imports/{import_id}/questions", show),
    Route("/imports/{import_id}/questions", answer, methods=["POST"]),
]
