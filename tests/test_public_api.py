"""The public API of the package is pinned: changing it is a deliberate act."""

import importer


def test_public_names():
    assert sorted(importer.__all__) == [
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
    for name in importer.__all__:
        assert hasattr(importer, name), name


def test_run_import_is_the_runner():
    from importer.job.run import run_import

    assert importer.run_import is run_import
