"""Command line: argument parsing, progress bars and printing; the work is done by importer.api."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .errors import KeenImportError
from .mapping import Mapping, load_mapping_file, parse_map_options
from .reconciler import format_summary
from .records import FIELDS

EXIT_USAGE = 2


def _add_mapping_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading and mapping the file")
    group.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                       help="map a column to a field (repeatable); fields: " + ", ".join(FIELDS))
    group.add_argument("--mapping", metavar="FILE", help="TOML mapping file (columns + options)")
    group.add_argument("--sheet", help="XLSX sheet name (default: the first sheet)")
    group.add_argument("--encoding", help="CSV encoding (default: detected)")
    group.add_argument("--delimiter", help="CSV delimiter: , ; tab | (default: detected)")
    group.add_argument("--decimal", choices=[".", ","], help="decimal separator of amounts")
    dates = group.add_mutually_exclusive_group()
    dates.add_argument("--day-first", dest="day_first", action="store_const", const=True,
                       help="slash dates are day/month/year (23/04/2026)")
    dates.add_argument("--month-first", dest="day_first", action="store_const", const=False,
                       help="slash dates are month/day/year (04/23/2026)")
    group.add_argument("--timezone", help="time zone of dates without one (default UTC)")
    group.add_argument("--trigger-id", action="append", default=[], dest="trigger_ids",
                       metavar="UUID", help="add this reward trigger id to every row (repeatable)")
    group.add_argument("--allow-precision", action="store_true", default=None,
                       help="accept amounts with more than 2 decimal places")
    group.add_argument("--allow-duplicates", action="store_true", default=None,
                       help="do not skip rows that repeat an earlier row")
    group.add_argument("--action", choices=["create_purchase", "create_purchase_custom"],
                       help="API action the rows are meant for (default create_purchase)")
    group.add_argument("--results", metavar="PATH",
                       help="results file (default: <input stem>.results.<ext> beside the input)")
    group.add_argument("--max-xlsx-mb", type=int, default=500, metavar="MB",
                       help="refuse workbooks that expand to more than this (default 500)")
    group.add_argument("--summary-json", metavar="PATH", help="also write the summary as JSON")


def build_mapping(args: argparse.Namespace) -> Mapping:
    """Mapping file, then --map, then flags: later sources win."""
    mapping = load_mapping_file(args.mapping) if args.mapping else Mapping()
    flags = Mapping(
        day_first=args.day_first, decimal=args.decimal, sheet=args.sheet,
        timezone=args.timezone, trigger_ids=tuple(args.trigger_ids), encoding=args.encoding,
        delimiter=args.delimiter, allow_precision=args.allow_precision,
        allow_duplicates=args.allow_duplicates, action=args.action,
    )
    return mapping.merged(parse_map_options(args.map)).merged(flags)


def _progress(desc: str):
    from tqdm import tqdm

    bar = tqdm(desc=desc, unit=" rows", file=sys.stderr, disable=None, mininterval=0.5)

    def update(done: int, total: int | None, counts: dict[str, int]) -> None:
        if total is not None:
            bar.total = total
        bar.n = done
        bar.set_postfix(counts, refresh=False)
        bar.refresh()

    return bar, update


def _print_header(report) -> None:
    say = _err
    where = f"sheet {report.sheet!r}" if report.sheet else (
        f"encoding {report.encoding}, delimiter {report.delimiter!r}")
    say(f"{report.path.name}: {where}, header on row {report.header_row}")
    say("mapping used: " + ", ".join(f"{k} <- {v!r}" for k, v in report.columns.items()))
    d = report.decisions
    if "purchase_amount" in report.columns:
        say(f"decimal separator {d.decimal!r} ({d.decimal_from})")
    if "date" in report.columns and d.day_first is not None:
        say(f"dates read {'day-first' if d.day_first else 'month-first'} ({d.day_first_from})")


def _err(text: str = "") -> None:
    print(text, file=sys.stderr)


def cmd_validate(args: argparse.Namespace) -> int:
    from .api import VALIDATE_ORDER, validate

    mapping = build_mapping(args)
    bar, update = _progress("validating")
    try:
        report = validate(args.file, mapping, results=args.results, max_xlsx_mb=args.max_xlsx_mb,
                          on_progress=update)
    finally:
        bar.close()
    _print_header(report)
    _err("summary:")
    for line in format_summary(report.summary, order=VALIDATE_ORDER):
        _err(line)
    _err(f"results: {report.results_path}")
    if args.summary_json:
        Path(args.summary_json).write_text(json.dumps(report.summary.as_dict(), indent=2))
    return report.exit_code


def cmd_template(args: argparse.Namespace) -> int:
    from .templates import write_csv_template, write_xlsx_template

    output = Path(args.output or f"purchases_template.{args.format}")
    if args.format == "csv":
        write_csv_template(output)
    else:
        write_xlsx_template(output)
    _err(f"wrote {output}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The keen-import argument parser."""
    parser = argparse.ArgumentParser(
        prog="keen-import",
        description="Bulk purchase importer for the Keen partner API.",
    )
    parser.add_argument("--version", action="version", version=f"keen-import {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True

    validate = commands.add_parser("validate", help="check a file offline and write results")
    validate.add_argument("file", help="CSV or XLSX file of purchases")
    _add_mapping_options(validate)
    validate.set_defaults(func=cmd_validate)

    template = commands.add_parser("template", help="write a blank import template")
    template.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    template.add_argument("--output", metavar="PATH")
    template.set_defaults(func=cmd_template)

    try:
        from .sandbox import cli as sandbox_cli
    except ImportError:  # pragma: no cover - sandbox extras always ship with the package
        sandbox_cli = None
    if sandbox_cli is not None:
        sandbox_cli.register(commands)
    try:
        from . import runcli
    except ImportError:
        runcli = None
    if runcli is not None:
        runcli.register(commands, _add_mapping_options)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the keen-import command; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeenImportError as exc:
        _err(f"error: {exc.message}")
        if exc.hint:
            _err(f"hint: {exc.hint}")
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
