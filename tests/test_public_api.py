"""The public API of the package is pinned: changing it is a deliberate act."""

import ast
from pathlib import Path

import importer

CLI = Path(importer.__file__).with_name("cli.py")


def test_public_names():
    assert sorted(importer.__all__) == [
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
        "DEFAULT_API_URL",
        "EarlierFiles",
        "FIELDS",
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
        "RUN_ORDER",
        "ReadValue",
        "ReportFiles",
        "RowPage",
        "RowResult",
        "RowStatus",
        "RowView",
        "SendSettings",
        "Summary",
        "VALIDATE_ORDER",
        "ValidationReport",
        "__version__",
        "already_imported",
        "collecting_held_open",
        "expand_inputs",
        "format_amounts",
        "format_summary",
        "ledger_location",
        "load_mapping_file",
        "open_import",
        "parse_map_options",
        "read_api_key",
        "run_import",
        "same_content",
        "validate",
        "write_template",
    ]
    for name in importer.__all__:
        assert hasattr(importer, name), name


def test_run_import_is_the_runner():
    from importer.job.oneshot import run_import

    assert importer.run_import is run_import


def test_the_cli_uses_only_the_public_api():
    """cli.py imports names of ``importer`` itself, or the sandbox, ui and ledger_cli front
    ends."""
    used = []
    for node in ast.walk(ast.parse(CLI.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("importer"):
            used.append((node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            used += [(alias.name, []) for alias in node.names if alias.name.startswith("importer")]
    for module, names in used:
        if module == "importer":
            assert set(names) <= set(importer.__all__), names
        else:
            assert module.split(".")[1] in ("sandbox", "ui", "ledger_cli", "console"), module
