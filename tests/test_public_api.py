"""The public API of the package is pinned: changing it is a deliberate act."""

import importer


def test_public_names():
    assert sorted(importer.__all__) == [
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
    for name in importer.__all__:
        assert hasattr(importer, name), name


def test_run_import_is_the_runner():
    from importer.job.run import run_import

    assert importer.run_import is run_import
