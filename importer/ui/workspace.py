"""The workspace folder: one sub-folder per import, files in the CLI's names and formats.

    <workspace>/imports/<id>/<upload name>          the file as uploaded (never changed)
    <workspace>/imports/<id>/import.json            who uploaded it, when, where it goes
    <workspace>/imports/<id>/<stem>.mapping.toml    the mapping used (a --mapping file)
    <workspace>/imports/<id>/<stem>.results.csv     results, manifest, created list,
                                                    corrected file: written by the job API
    <workspace>/imports/<id>/checks/                a check's results and manifest once the
                                                    import was sent (the send's stay as they are)
    <workspace>/mappings/<headers hash>.toml        remembered mappings, by set of headers

``keen-import run <workspace>/imports/<id>/<upload name> --mapping <stem>.mapping.toml``
resumes an import started in the browser, and the other way round.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from importer.report.outputs import OutputNames

IMPORT_ID = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")
#: What a download link may ask for, and where each kind lives inside an import folder.
FILE_KINDS = ("upload", "results", "manifest", "created", "corrected", "mapping")
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
#: The app's own files and folders in an import folder (casefolded; a leading dot never
#: survives safe_file_name): an upload is never stored under one of these names.
META_FILE = "import.json"
CHECKS_FOLDER = "checks"  # a check made after the import was sent (the send's files stay)
APP_NAMES = frozenset({META_FILE, CHECKS_FOLDER})


@dataclass(frozen=True)
class ImportFolder:
    """One import's folder in the workspace."""

    id: str
    path: Path
    upload: Path

    @property
    def stem(self) -> str:
        """The stem every file of this import is named after."""
        return self.upload.stem

    @property
    def mapping_path(self) -> Path:
        """``<stem>.mapping.toml``: the mapping in force, in the CLI's format."""
        return self.path / f"{self.stem}.mapping.toml"

    def save_mapping(self, mapping) -> None:
        """Write ``mapping`` (an importer Mapping) as the import's mapping file."""
        from importer.check.mapping import save_mapping_file

        comment = f"keen-import mapping for {self.upload.name}"
        save_mapping_file(mapping, self.mapping_path, comment=comment)

    def meta(self) -> dict:
        """What import.json says (empty when it is missing or unreadable)."""
        try:
            return json.loads((self.path / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def update_meta(self, **values: object) -> None:
        """Merge ``values`` into import.json."""
        data = {**self.meta(), **values}
        tmp = self.path / ".import.json.tmp"
        tmp.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
        os.replace(tmp, self.path / META_FILE)

    def manifest(self) -> dict:
        """The import's manifest (the CLI's ``<stem>.manifest.json``), or {} before any run."""
        path = self.file("manifest")
        try:
            found = json.loads(path.read_text(encoding="utf-8")) if path else {}
        except (OSError, ValueError):
            return {}
        return found if isinstance(found, dict) else {}

    def sent(self) -> bool:
        """True once a send of this import wrote its results: its manifest is a run's (not a
        check's, nor an online check's)."""
        return self.manifest().get("command") == "run"

    def file(self, kind: str) -> Path | None:
        """The file of ``kind`` (see FILE_KINDS), or None when it does not exist (yet)."""
        # The upload's kind is known from its content only once it is read: try both.
        as_text, as_workbook = (OutputNames.beside(self.upload, k) for k in ("csv", "xls"))
        candidates = {
            "upload": [self.upload],
            "results": [as_text.results, as_workbook.results],
            "manifest": [as_text.manifest],
            "created": [as_text.created],
            "corrected": [
                as_text.corrected(self.upload, "csv"),
                as_workbook.corrected(self.upload, "xls"),
            ],
            "mapping": [self.mapping_path],
        }.get(kind, [])
        return next((p for p in candidates if p.is_file()), None)


# Names Windows keeps for devices whatever the extension (only these survive _SAFE_NAME).
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"{port}{n}" for port in ("COM", "LPT") for n in range(10)]
)


def safe_file_name(name: str) -> str:
    """An uploaded file's name reduced to its last part and harmless characters; never the
    name of a file or folder of the app's own in the import folder (see APP_NAMES)."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = _shortened(_SAFE_NAME.sub("_", base).strip(" .")) or "upload"
    if base.casefold() in APP_NAMES:  # import.json would be the import's own settings
        return f"upload_{base}"
    stem, dot, rest = base.partition(".")
    if stem.strip().upper() in _WINDOWS_DEVICES:  # con.csv would open the console on Windows
        return f"{stem}_{dot}{rest}"
    return base


def _shortened(name: str, limit: int = 120) -> str:
    """At most ``limit`` characters, the stem cut and the extension kept (a 300-character
    name cut at 120 lost its ".csv": its download was no longer a CSV file to Windows)."""
    if len(name) <= limit:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not dot or len(suffix) > 10:
        return name[:limit]
    return stem[: limit - len(suffix) - 1].rstrip(" .") + "." + suffix


class Workspace:
    """The folder that holds every import of this user."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        self.imports = self.root / "imports"
        self.mappings = self.root / "mappings"

    def create(self) -> Workspace:
        """Make the folders (private to this user)."""
        for folder in (self.root, self.imports, self.mappings):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    def new_import(self, file_name: str) -> ImportFolder:
        """A fresh folder for an upload called ``file_name``."""
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        import_id = f"{stamp}-{secrets.token_hex(3)}"
        folder = self.imports / import_id
        folder.mkdir(mode=0o700)
        found = ImportFolder(import_id, folder, folder / safe_file_name(file_name))
        found.update_meta(
            file=file_name,
            upload=found.upload.name,
            uploaded_at=datetime.now(UTC).isoformat(),
            user=_os_user(),
        )
        return found

    def get(self, import_id: str) -> ImportFolder | None:
        """The import with this id, or None (an id is never a path)."""
        if not IMPORT_ID.match(import_id):
            return None
        folder = self.imports / import_id
        meta_file = folder / META_FILE
        if not meta_file.is_file():
            return None
        try:
            upload = json.loads(meta_file.read_text(encoding="utf-8"))["upload"]
        except (OSError, ValueError, KeyError):
            return None
        return ImportFolder(import_id, folder, folder / safe_file_name(upload))

    def all(self) -> list[ImportFolder]:
        """Every import, newest first."""
        if not self.imports.is_dir():
            return []
        found = [f for f in (self.get(p.name) for p in self.imports.iterdir()) if f]
        return sorted(found, key=lambda f: (f.meta().get("uploaded_at", ""), f.id), reverse=True)

    def remembered_mapping(self, headers: list[str]) -> Path:
        """Where the mapping for this set of headers is remembered."""
        return self.mappings / f"{headers_key(headers)}.toml"


def headers_key(headers: list[str]) -> str:
    """The same set of headers gives the same key, whatever their order."""
    joined = "\n".join(sorted(h.strip().casefold() for h in headers))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:20]


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""
