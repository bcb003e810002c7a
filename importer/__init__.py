"""keen-import: bulk purchase importer for the Keen partner API.

Validate a CSV/XLSX export offline, send it exactly once where the API allows it, and
reconcile every row into a results file.
"""

__version__ = "0.1.0"

from importer.check.mapping import Mapping  # noqa: E402
from importer.errors import KeenImportError  # noqa: E402
from importer.job.importjob import FieldMatch, ImportJob, open_import  # noqa: E402
from importer.job.model import (  # noqa: E402
    Answer,
    CellEdit,
    CheckReport,
    Choice,
    ColumnDecision,
    FileOverview,
    ProgressCallback,
    Question,
    QuestionExample,
    ReportFiles,
    RowPage,
    RowView,
)
from importer.job.validate import ValidationReport, validate  # noqa: E402
from importer.records import PurchaseRecord, RowResult, RowStatus  # noqa: E402


def __getattr__(name: str):
    # The sending stack (httpx, aiohttp) is imported only when run_import is used: validate
    # starts faster without it.
    if name == "run_import":
        from importer.job.run import run_import

        return run_import
    raise AttributeError(f"module 'importer' has no attribute {name!r}")


__all__ = [
    "Answer",
    "CellEdit",
    "CheckReport",
    "Choice",
    "ColumnDecision",
    "FieldMatch",
    "FileOverview",
    "ImportJob",
    "KeenImportError",
    "Mapping",
    "ProgressCallback",
    "PurchaseRecord",
    "Question",
    "QuestionExample",
    "ReportFiles",
    "RowPage",
    "RowResult",
    "RowStatus",
    "RowView",
    "ValidationReport",
    "__version__",
    "open_import",
    "run_import",
    "validate",
]
