"""keen-import: bulk purchase importer for the Keen partner API.

Validate a CSV/XLSX export offline, send it exactly once where the API allows it, and
reconcile every row into a results file.
"""

__version__ = "0.1.0"

from importer.check.mapping import Mapping  # noqa: E402
from importer.errors import KeenImportError  # noqa: E402
from importer.job.validate import ValidationReport, validate  # noqa: E402
from importer.records import PurchaseRecord, RowResult, RowStatus  # noqa: E402


def __getattr__(name: str):
    # The sending stack (httpx, httptools) is imported only when run_import is used: validate
    # starts faster without it.
    if name == "run_import":
        from importer.job.run import run_import

        return run_import
    raise AttributeError(f"module 'importer' has no attribute {name!r}")


__all__ = [
    "KeenImportError",
    "Mapping",
    "PurchaseRecord",
    "RowResult",
    "RowStatus",
    "ValidationReport",
    "__version__",
    "run_import",
    "validate",
]
