"""What the ledger already holds of a file, before anything is sent: ``validate`` reports
"N new, M already imported from ...". Nothing is claimed."""

from __future__ import annotations

from collections import Counter

from importer.check.validator import RowValidator
from importer.job.changedrows import source_name
from importer.job.checking import PreparedFile, source_facts
from importer.ledger import ImportContext, Ledger, candidate_for
from importer.records import RowStatus

__all__ = ["already_imported_note"]


def already_imported_note(prepared: PreparedFile, ledger: Ledger, target: str) -> str:
    """One line: how many valid rows are new and how many the ledger holds as created (from
    which files). Rows with a legacy lead id count as new (only sending resolves them)."""
    if not ledger.backend.fetch_one(
        "SELECT 1 FROM purchases WHERE target = ? AND status = 'created' LIMIT 1", (target,)
    ):
        return f"ledger: every valid row is new (nothing was imported into {target} yet)"
    context = ImportContext(-1, source_facts(prepared.table)[0], source_name(prepared))
    validator = RowValidator(
        prepared.table.headers,
        prepared.columns,
        prepared.decisions,
        prepared.options,
        build_records=True,
    )
    new, files = 0, Counter()
    for chunk in prepared.table.chunks():
        records = [r for r in validator.check(chunk).records or [] if r is not None]
        candidates = [
            candidate_for(
                r,
                action=prepared.options.action,
                lead_id=r.lead_id,
                occurrence=validator.occurrences.get(r.row, 0),
            )
            for r in records
            if r.lead_id
        ]
        new += len(records) - len(candidates)
        to_send, held = ledger.preview(target, candidates, context)
        new += len(to_send)
        for result in held.values():
            if result.status in (RowStatus.CREATED, RowStatus.SKIPPED) and result.purchase_id:
                files[_file_of(result.error, prepared)] += 1
            else:
                new += 1
    known = sum(files.values())
    if not known:
        return f"ledger: all {new:,} valid rows are new"
    origins = ", ".join(f"{count:,} from {name}" for name, count in files.most_common(3))
    return f"ledger: {new:,} new, {known:,} already imported ({origins})"


def _file_of(error: str | None, prepared: PreparedFile) -> str:
    if error and error.startswith("already created from "):
        return error.removeprefix("already created from ").split(" row ")[0]
    return f"earlier runs of {prepared.table.path.name}"
