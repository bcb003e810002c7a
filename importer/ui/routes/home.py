"""Web app, upload: the file is stored in a new import folder and opened by the job API."""

from __future__ import annotations

import shutil
import sys
import traceback

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.routing import Route

from importer.check.mapping import load_mapping_file
from importer.errors import KeenImportError
from importer.ui.pages import redirect, render
from importer.ui.remedies import remembered
from importer.ui.sessions import ImportSession
from importer.ui.wording import with_hint


async def home(request: Request):
    """The upload form and the latest imports."""
    recent = request.app.state.workspace.all()[:5]
    return render(request, "upload.html", recent=recent, error=None)


async def upload(request: Request):
    """Keep the upload, open it; a file the CLI refuses is refused here too and not kept."""
    form = await request.form(max_files=1, max_fields=10)
    upload = form.get("file")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _refused(request, "Choose a spreadsheet file (CSV, XLSX or XLS) first.")
    workspace = request.app.state.workspace
    folder = workspace.new_import(upload.filename)
    try:
        await run_in_threadpool(_store, upload, folder.upload)
        session = await run_in_threadpool(_open, request, folder)
    except Exception as exc:  # whatever refused it, nothing of the upload is kept
        shutil.rmtree(folder.path, ignore_errors=True)
        if isinstance(exc, KeenImportError):
            return _refused(request, exc.message, exc.hint)
        traceback.print_exc(file=sys.stderr)
        return _refused(
            request,
            "The file could not be kept: nothing was kept (see the server's output).",
            status_code=500,
        )
    finally:
        await upload.close()
    request.app.state.sessions.add(session)
    return redirect(f"/imports/{folder.id}/columns")


def _store(upload: UploadFile, target) -> None:
    upload.file.seek(0)
    with open(target, "xb") as out:
        shutil.copyfileobj(upload.file, out, 1024 * 1024)


def _open(request: Request, folder) -> ImportSession:
    """Open the job (a file without data rows is refused); apply the mapping remembered for
    these headers, if any."""
    from importer import open_import

    job = open_import(folder.upload, out_dir=folder.path)
    if not job.has_rows():  # the CLI checks such a file and finds nothing: say so at once
        name = folder.meta().get("file", folder.upload.name)
        raise KeenImportError(f"{name} has a header row but no data rows: nothing to import.")
    folder.update_meta(detected_encoding=job.overview.encoding)
    path = request.app.state.workspace.remembered_mapping(job.overview.headers)
    if path.is_file():
        job.apply_mapping(remembered(load_mapping_file(path)))
        folder.save_mapping(job.mapping)
        folder.update_meta(remembered_mapping=True)
    return ImportSession(folder=folder, job=job)


def _refused(request: Request, message: str, hint: str | None = None, *, status_code: int = 400):
    recent = request.app.state.workspace.all()[:5]
    error = with_hint(message, hint)
    return render(request, "upload.html", status_code=status_code, recent=recent, error=error)


routes = [
    Route("/", home),
    Route("/upload", upload, methods=["POST"]),
]
