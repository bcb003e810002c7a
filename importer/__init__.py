"""keen-import: bulk purchase importer for the Keen partner API.

Validate a CSV/XLSX export offline, send it exactly once where the API allows it, and
reconcile every row into a results file.
"""

from importer.check.mapping import Mapping, load_mapping_file, parse_map_options  # noqa: E402
from importer.check.summary import (
    RUN_ORDER,
    VALIDATE_ORDER,
    Summary,
    format_amounts,
    format_summary,
)  # noqa: E402
from importer.errors import (  # noqa: E402
    AmbiguousDataError,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ControlTotalError,
    InputFileError,
    KeenImportError,
    LedgerError,
    MappingError,
    ProgressCallbackError,
)
from importer.job.importjob import FieldMatch, ImportJob, open_import  # noqa: E402
from importer.job.inputs import expand_inputs, same_content  # noqa: E402
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
    ReadValue,
    ReportFiles,
    RowPage,
    RowView,
)
from importer.job.validate import ValidationReport, validate  # noqa: E402
from importer.records import FIELDS, PurchaseRecord, RowResult, RowStatus  # noqa: E402
from importer.report.publish import collecting_held_open  # noqa: E402
from importer.report.templates import write_template  # noqa: E402
from importer.send.credentials import DEFAULT_API_URL, read_api_key  # noqa: E402
from importer.version import __version__  # noqa: E402

#: Names that live with the sending stack, imported on first use.
_SENDING = (
    "Cancelled",
    "EarlierFiles",
    "ImportPlan",
    "ImportReport",
    "SendSettings",
    "already_imported",
    "run_import",
)
#: The ledger's API, imported on first use.
_LEDGER = ("Ledger", "ledger_location")


def __getattr__(name: str):
    # The sending stack (httpx, httptools) is imported only when run_import is used: validate
    # starts faster without it.
    if name == "run_import":
        from importer.job.oneshot import run_import

        return run_import
    if name in _SENDING:
        from importer.job import run

        return getattr(run, name)
    if name in _LEDGER:
        import importer.ledger

        return getattr(importer.ledger, name)
    raise AttributeError(f"module 'importer' has no attribute {name!r}")


__all__ = [
    "DEFAULT_API_URL",
    "FIELDS",
    "RUN_ORDER",
    "VALIDATE_ORDER",
    "AmbiguousDataError",
    "Answer",
    "ApiError",
    "AuthenticationError",
    "Cancelled",
    "CellEdit",
    "CheckReport",
    "Choice",
    "ColumnDecision",
    "ConfigurationError",
    "ControlTotalError",
    "EarlierFiles",
    "FieldMatch",
    "FileOverview",
    "ImportJob",
    "ImportPlan",
    "ImportReport",
    "InputFileError",
    "KeenImportError",
    "Ledger",
    "LedgerError",
    "Mapping",
    "MappingError",
    "ProgressCallback",
    "ProgressCallbackError",
    "PurchaseRecord",
    "Question",
    "QuestionExample",
    "ReadValue",
    "ReportFiles",
    "RowPage",
    "RowResult",
    "RowStatus",
    "RowView",
    "SendSettings",
    "Summary",
    "ValidationReport",
    "__version__",
    "already_imported",
    "collecting_held_open",
    "expand_inputs",
    "same_content",
    "format_amounts",
    "format_summary",
    "ledger_location",
    "load_mapping_file",
    "open_import",
    "parse_map_options",
    "read_api_key",
    "run_import",
    "validate",
    "write_template",
]
