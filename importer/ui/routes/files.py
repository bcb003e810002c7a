"""Downloads: files are served by import id and kind, never from a path the client sends."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.routing import Route

from importer.read.kinds import media_types
from importer.ui.routes.common import folder_or_404
from importer.ui.workspace import FILE_KINDS

# Every input kind's media type comes from the reader registry (uploads and corrected copies).
MEDIA_TYPES = {
    **media_types(),
    ".json": "application/json",
    ".toml": "application/toml",
}


async def download(request: Request):
    """One file of an import, as an attachment."""
    kind = request.path_params["kind"]
    folder = folder_or_404(request, request.path_params["import_id"])
    if kind not in FILE_KINDS:
        raise HTTPException(404)
    path = folder.file(kind)
    if path is None:
        raise HTTPException(404)
    media_type = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
    return FileResponse(path, media_type=media_type, filename=path.name)


routes = [Route("/imports/{import_id}/files/{kind}", download)]
