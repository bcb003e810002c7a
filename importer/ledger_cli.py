"""Command line of the ledger: ``--ledger`` and ``keen-import ledger list|show|find|export|
forget|adopt|upgrade``. Printing only; the work is done by importer.ledger and the job layer."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from importer.check.summary import format_amounts
from importer.errors import ConfigurationError
from importer.ledger import Ledger, ledger_location, queries
from importer.ledger.location import ENV_LEDGER
from importer.ledger.schema import SCHEMA_VERSION
from importer.report.publish import collecting_held_open

__all__ = ["add_ledger_command", "add_ledger_option"]


def add_ledger_option(group, *, default=None) -> None:
    """``--ledger PATH|URL`` (validate, run, ui, ledger)."""
    group.add_argument(
        "--ledger",
        metavar="PATH|URL",
        default=default,
        help=f"the ledger of purchases sent: a SQLite file or postgresql://USER@HOST/DB "
        f"(default: ${ENV_LEDGER}, else this user's own ledger)",
    )


def add_ledger_command(commands) -> None:
    """The ``ledger`` command and its sub-commands."""
    ledger = commands.add_parser("ledger", help="what was sent: list, find, export, forget")
    add_ledger_option(ledger)
    ledger.add_argument(
        "--sandbox", action="store_true", help="the ledger of the runs into the embedded sandbox"
    )
    actions = ledger.add_subparsers(dest="ledger_action", metavar="ACTION")
    actions.required = True
    listing = actions.add_parser("list", help="every import: when, who, file, counts and amounts")
    listing.add_argument(
        "--all", action="store_true", help="also the imports that sent nothing (a re-run)"
    )
    show = actions.add_parser("show", help="one import and its purchases")
    show.add_argument("import_id", type=int, metavar="IMPORT")
    find = actions.add_parser("find", help="purchases by purchase id, lead or reference")
    find.add_argument("text")
    export = actions.add_parser("export", help="purchases created in Keen, by purchase date")
    export.add_argument(
        "--period", metavar="YYYY-MM[..YYYY-MM]", help="those months only (by purchase date)"
    )
    export.add_argument(
        "--timezone",
        default="UTC",
        metavar="ZONE",
        help="the zone the months are counted in, as the run's --timezone (default UTC)",
    )
    export.add_argument("--output", metavar="FILE", help="CSV or .xlsx (default created.csv)")
    forget = actions.add_parser("forget", help="let purchases be sent again (Keen reversed them)")
    forget.add_argument("what", nargs="+", metavar="PURCHASE_ID|IMPORT")
    forget.add_argument("--reason", required=True, help="why (kept in the ledger)")
    adopt = actions.add_parser("adopt", help="take in the journal of an earlier version")
    adopt.add_argument("file", metavar="INPUT", help="the input file the journal belongs to")
    adopt.add_argument("--out-dir", metavar="DIR", help="the folder the journal is in")
    upgrade = actions.add_parser("upgrade", help="upgrade a shared ledger to this version's schema")
    for action in (listing, show, find, export, forget, adopt, upgrade):
        # Also after the action (keen-import ledger list --ledger X); SUPPRESS keeps the value
        # given before it.
        add_ledger_option(action, default=argparse.SUPPRESS)
    ledger.set_defaults(func=cmd_ledger)


#: The sub-commands that only read: they never make a ledger where there is none.
_READS = ("list", "show", "find", "export")


def cmd_ledger(args: argparse.Namespace) -> int:
    """Run one ledger sub-command."""
    location = ledger_location(args.ledger, sandbox=args.sandbox)
    missing = location.path is not None and not location.path.exists()
    if missing and args.ledger_action in _READS and (args.ledger or args.sandbox):
        raise ConfigurationError(
            f"there is no ledger at {location.path}",
            hint="check the path given to --ledger" if args.ledger else "no sandbox run yet",
        )
    upgrade = args.ledger_action == "upgrade"
    with Ledger.open(location, upgrade=upgrade) as ledger:
        return _ACTIONS[args.ledger_action](ledger, args)


def _list(ledger: Ledger, args) -> int:
    imports = queries.list_imports(ledger)
    _out(f"ledger: {ledger.describe()} ({len(imports)} imports)")
    # A re-run that finds everything imported leaves an import of no purchases: a backfill run
    # again each day would bury the imports that sent something.
    shown = imports if args.all else [s for s in imports if s.rows]
    for summary in shown:
        _out(_import_line(summary))
    if len(shown) < len(imports):
        hidden = len(imports) - len(shown)
        _out(f"({hidden:,} imports of no purchases not shown: --all shows them)")
    sandbox = ledger_location(sandbox=True).path
    if not imports and not args.sandbox and sandbox is not None and sandbox.exists():
        _out("the runs into a Keen on this machine (the sandbox, a local server) have a ledger "
             "of their own: keen-import ledger --sandbox list")  # fmt: skip
    return 0


def _import_line(s: queries.ImportSummary) -> str:
    counts = ", ".join(
        f"{status} {rows:,}"
        + (f" ({format_amounts(s.amounts[status])})" if status in s.amounts else "")
        for status, rows in sorted(s.rows.items())
    )
    return (
        f"{s.id:>5}  {s.started_at[:16].replace('T', ' ')}  {s.user_name}@{s.machine}  "
        f"{s.file_name}  sha256 {s.file_sha256[:12]}  {s.state}  {counts or 'no purchases'}"
    )


def _show(ledger: Ledger, args) -> int:
    summary, entries = queries.show_import(ledger, args.import_id)
    _out(_import_line(summary))
    _out(f"  target: {summary.target}")
    for entry in entries:
        _out(_entry_line(entry))
    return 0


def _entry_line(entry) -> str:
    forgotten = f"  forgotten: {entry.forgotten}" if entry.forgotten else ""
    return (
        f"  row {entry.file_row:>6}  {entry.status:<11} {entry.purchase_id or '-':<36}  "
        f"{entry.amount or ''} {entry.currency or ''}  {entry.reference or ''}  "
        f"lead {entry.lead_id}{forgotten}"
    )


def _find(ledger: Ledger, args) -> int:
    found = queries.find(ledger, args.text)
    for entry in found:
        _out(f"import {entry.import_id} {entry.file_name}" + _entry_line(entry))
    if not found:
        _out(f"nothing in the ledger matches {args.text!r}")
    return 0 if found else 1


def _export(ledger: Ledger, args) -> int:
    from importer.report.ledger_export import export_created

    output = Path(args.output or "created.csv")
    with collecting_held_open() as held:
        done = export_created(ledger, output, period=args.period, timezone=args.timezone)
    for line in held.messages():
        print(line, file=sys.stderr)
    period = f" dated {args.period} ({args.timezone})" if args.period else ""
    _out(f"wrote {done.count:,} purchases created in Keen{period} to {held.where(output)}")
    if done.unconfirmed:
        rows = "1 purchase" if done.unconfirmed == 1 else f"{done.unconfirmed:,} purchases"
        _out(
            f"not in the list: {rows}{period or ''} sent with no answer (unconfirmed, "
            f"{format_amounts(done.unconfirmed_amounts)}): they may exist in Keen; look them up "
            "there (keen-import ledger list shows their imports)"
        )
    return 0


def _forget(ledger: Ledger, args) -> int:
    what = args.what
    if len(what) == 1 and what[0].isdigit():
        count = queries.forget(ledger, reason=args.reason, import_id=int(what[0]))
    else:
        count = queries.forget(ledger, reason=args.reason, purchase_ids=what)
    if not count:
        _out(f"nothing to forget: the ledger {ledger.describe()} holds no such created purchase")
        return 1
    what = (
        "1 purchase: a file holding it sends it"
        if count == 1
        else f"{count:,} purchases: a file holding them sends them"
    )
    _out(f"forgot {what} again")
    return 0


def _adopt(ledger: Ledger, args) -> int:
    import importer
    from importer.job.adopt import adopt_journal, journals_of
    from importer.job.checking import source_facts

    job = importer.open_import(args.file)
    job.set_options(results=None)
    prepared = job.prepared_for_sending()
    folder = Path(args.out_dir) if args.out_dir else prepared.table.path.parent
    journals = journals_of(prepared, folder)
    if not journals:
        raise ConfigurationError(f"no journal of {prepared.table.path.name} found in {folder}")
    for journal in journals:
        count = adopt_journal(prepared, journal, ledger, source_facts(prepared.table)[0])
        _out(f"took {count:,} purchases of {journal} into {ledger.describe()}")
    return 0


def _upgrade(ledger: Ledger, args) -> int:
    before = getattr(ledger.backend, "upgraded_from", SCHEMA_VERSION)  # set when it changed
    if before == SCHEMA_VERSION:
        _out(f"the ledger {ledger.describe()} was already at schema version {SCHEMA_VERSION}")
    elif before is None:
        _out(f"made the new ledger {ledger.describe()} at schema version {SCHEMA_VERSION}")
    else:
        _out(f"upgraded the ledger {ledger.describe()} from schema version {before} to "
             f"{SCHEMA_VERSION}")  # fmt: skip
    return 0


_ACTIONS = {
    "list": _list,
    "show": _show,
    "find": _find,
    "export": _export,
    "forget": _forget,
    "adopt": _adopt,
    "upgrade": _upgrade,
}


def _out(text: str) -> None:
    print(text, file=sys.stdout)
