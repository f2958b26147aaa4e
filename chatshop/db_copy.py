"""``chatshop db copy --from SOURCE --to TARGET [--force]``: a territory moved from one
database to another, SQLite or PostgreSQL either side (issue #14, « Moving a territory »).

Nothing is done, and one line says why (exit status 1), when the source is missing or no
chatshop database, when both name the same database, when the source's schema is not
this chatshop's newest, when ``chatshop run`` runs on either (``chatshop.running``), or
when the target holds data (any row but the categories a new database starts with)
without ``--force``, which empties it first: a copy stopped halfway is run again with
``--force``.

The target is migrated to the newest schema, then filled in one transaction: every
table in the order of its foreign keys (read from the target's schema), in batches, ids
kept (PostgreSQL's identity sequences set past the largest id afterwards), BLOBs as
bytes, with a progress line per table. SQLite's implicit ``rowid`` of a table without an
``INTEGER PRIMARY KEY`` travels as PostgreSQL's ``rowid`` column where the schema has one
(``reservation_lines``: the order of a reservation's lines). The search index is not
copied: the target's is emptied and marked stale (``terms_version = 0``), and rebuilt by
opening the target. Before the commit the row counts of every table are compared, and
the stock ledger checked on the target (each product's ``on_hand`` is the sum of its
``stock_movements``, as ``record_movement`` keeps it); a difference cancels the copy.

The copy itself, and every statement of it, is the storage's
(``chatshop.storage.copying``, ``copy_sides``); its refusals come as facts
(``chatshop.storage.copy_errors``), said here in French, as is its progress.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable

from chatshop.errors import MigrationError
from chatshop.i18n import _, format_number, ngettext
from chatshop.running import BotRunning, bot_is_running, copying
from chatshop.storage import open_store
from chatshop.storage.copy_errors import (
    DATABASE_ERRORS,
    CannotOpen,
    CopyFailed,
    CopyRefused,
    LedgerOff,
    NewerSchema,
    NotChatshop,
    OlderSource,
    RowsDiffer,
    SameDatabase,
    SourceMissing,
    TablesDiffer,
    TargetFolderMissing,
    TargetNotEmpty,
)
from chatshop.storage.copy_sides import Side, SqliteSide, open_side
from chatshop.storage.copying import (
    Progress,
    Report,
    check_source,
    check_target,
    copy_rows,
    foreign_key_order,
)
from chatshop.storage.postgres import shown

__all__ = ["Refused", "Report", "SqliteSide", "copy_database", "foreign_key_order",
           "open_side", "shown", "summary"]

_FAILURES: tuple[type[Exception], ...] = (MigrationError, *DATABASE_ERRORS, OSError)
"""What stops a copy that is no refusal: the database itself, its schema, the disk."""


class Refused(Exception):
    """Why the copy was not done (or was cancelled): one French line."""


def refusal(why: CopyRefused) -> str:
    """The French line of a refusal of the storage."""
    if isinstance(why, CannotOpen):
        return _("cannot open the database {database}: {why}").format(
            database=shown(why.database), why=why.why)
    if isinstance(why, TargetFolderMissing):
        return _("cannot open the database {database}: {why}").format(
            database=shown(why.database), why=_("no folder {folder}").format(
                folder=why.folder))
    if isinstance(why, SourceMissing):
        return _("the source database {database} does not exist").format(
            database=shown(why.database))
    if isinstance(why, SameDatabase):
        return _("the source and the target are the same database ({database})").format(
            database=shown(why.database))
    if isinstance(why, NotChatshop):
        return _("{database} is not a chatshop database").format(
            database=shown(why.database))
    if isinstance(why, NewerSchema):
        return _("{database} is at schema version {version}, newer than this chatshop "
                 "(which knows up to {newest}): upgrade chatshop first").format(
            database=shown(why.database), version=why.version, newest=why.newest)
    if isinstance(why, OlderSource):
        return _(
            "the source {database} is at schema version {version}, this chatshop's is "
            "{newest}: run « chatshop migrate --database {database} » on it first").format(
            database=shown(why.database), version=why.version, newest=why.newest)
    if isinstance(why, TargetNotEmpty):
        return _("the target {database} is not empty: --force empties it before the "
                 "copy").format(database=shown(why.database))
    if isinstance(why, TablesDiffer):
        tables = (f"{why.table}.{', '.join(why.tables)}" if why.table is not None
                  else ", ".join(why.tables))
        return _("the tables of the two databases differ ({tables}): both must be at the "
                 "same schema version").format(tables=tables)
    if isinstance(why, CopyFailed):
        return _("the copy failed and was cancelled, the target is as it was: {why}"
                 ).format(why=why.why)
    if isinstance(why, RowsDiffer):
        return _("the copy was cancelled, the target is as it was: the rows differ in "
                 "{tables}").format(tables=", ".join(why.tables))
    if isinstance(why, LedgerOff):
        return ngettext(
            "the copy was cancelled, the target is as it was: the stock of {n} product "
            "is not what its ledger says",
            "the copy was cancelled, the target is as it was: the stock of {n} products "
            "is not what their ledger says", why.products).format(
            n=format_number(why.products))
    raise AssertionError(f"a refusal without words: {why!r}")


def check(source: Side, target: Side, *, force: bool) -> None:
    """Raise ``Refused`` unless the copy may go ahead (nothing is written here)."""
    try:
        check_source(source, target)
        for side in (source, target):
            if side.exists and bot_is_running(side.name):
                raise Refused(_running(side.name))
        check_target(target, force=force)
    except CopyRefused as why:
        raise Refused(refusal(why)) from why


def _running(database: str) -> str:
    return _("the bot is running on {database}: stop « chatshop run » there first"
             ).format(database=shown(database))


async def copy_database(source_name: str, target_name: str, *, force: bool = False,
                        progress: Progress | None = None) -> Report:
    """Copy the territory of ``source_name`` into ``target_name`` (see the module)."""
    try:
        return await _copy(source_name, target_name, force=force,
                           progress=progress or (lambda table, copied, total: None))
    except CopyRefused as why:
        raise Refused(refusal(why)) from why


async def _copy(source_name: str, target_name: str, *, force: bool,
                progress: Progress) -> Report:
    source = await asyncio.to_thread(open_side, source_name)
    try:
        target = await asyncio.to_thread(open_side, target_name)
        try:
            await asyncio.to_thread(check, source, target, force=force)
            held = [side.name for side in (source, target) if side.exists]
            target.close()
            try:
                with copying(*held):  # no bot starts on either meanwhile
                    store = await open_store(target_name)  # migrated by chatshop itself
                    await store.close()
                    target = await asyncio.to_thread(open_side, target_name)
                    report = await asyncio.to_thread(copy_rows, source, target, progress)
            except BotRunning as why:  # started since the test
                raise Refused(_running(str(why.args[0]))) from why
        finally:
            target.close()
    finally:
        source.close()
    await (await open_store(target_name)).close()  # which rebuilds the search index
    return report


def summary(source: str, target: str, report: Report) -> str:
    rows = sum(report.counts.values())
    lines = [_("Copied from {source} to {target}: {tables}, {rows}; the same number of "
               "rows on both sides, and the stock ledger adds up for {products}.").format(
        source=shown(source), target=shown(target),
        tables=ngettext("{n} table", "{n} tables", len(report.counts)).format(
            n=format_number(len(report.counts))),
        rows=ngettext("{n} row", "{n} rows", rows).format(n=format_number(rows)),
        products=ngettext("{n} product", "{n} products", report.products).format(
            n=format_number(report.products)))]
    if report.ledger_off_at_source:
        lines.append(ngettext(
            "Warning: the stock of {n} product was already not what its ledger says on "
            "the source; it is copied as it was.",
            "Warning: the stock of {n} products was already not what their ledger says "
            "on the source; they are copied as they were.",
            report.ledger_off_at_source).format(n=format_number(report.ledger_off_at_source)))
    lines.append(_("The search index of {target} was rebuilt.").format(target=shown(target)))
    return "\n".join(lines)


def _progress_line(table: str, copied: int, total: int) -> None:
    done = copied >= total
    if not done and not sys.stderr.isatty():
        return  # a line per table in a log; updated in place on a terminal
    # The form is the total's, the number the noun follows (« 0 / 0 ligne copiée »).
    line = ngettext("{table}: {copied} / {total} row copied",
                    "{table}: {copied} / {total} rows copied", total).format(
        table=table, copied=format_number(copied), total=format_number(total))
    print(f"\r{line}" if sys.stderr.isatty() else line, end="\n" if done else "",
          file=sys.stderr, flush=True)


Command = Callable[[str, str, str], argparse.ArgumentParser]


def add_command(command: Command) -> None:
    """``db copy`` on the ``chatshop`` command line."""
    db = command("db", _("the database itself: copy a territory into another one"), _(
        "The territory's database: « copy » copies it into another database, SQLite or "
        "PostgreSQL, with the bot stopped."))
    actions = db.add_subparsers(dest="action", required=True, title=_("actions"),
                                metavar=_("ACTION"))
    copy = actions.add_parser("copy", help=_("copy a territory into another database"),
                              description=_(
        "Copy every table of the territory, ids included, from one database into another "
        "(a SQLite file, sqlite:///path or postgresql://…), with the bot stopped on both; "
        "then check the row counts and the stock ledger. A target holding data is "
        "refused unless --force, which empties it first (a copy stopped halfway is run "
        "again with --force)."))
    copy.add_argument("--from", dest="source", required=True, metavar=_("DATABASE"),
                      help=_("the database to copy"))
    copy.add_argument("--to", dest="target", required=True, metavar=_("DATABASE"),
                      help=_("the database to copy into"))
    copy.add_argument("--force", action="store_true",
                      help=_("empty the target first when it holds data"))


def run(args: argparse.Namespace) -> int:
    """``chatshop db copy``: 0 when copied, 1 (one line on stderr) when not."""
    try:
        report = asyncio.run(copy_database(args.source, args.target, force=args.force,
                                           progress=_progress_line))
    except Refused as why:
        print(f"chatshop: {why}", file=sys.stderr)
        return 1
    except _FAILURES as why:
        print("chatshop: " + _("the copy failed: {why}").format(
            why=" ".join(str(why).split())), file=sys.stderr)
        return 1
    print(summary(args.source, args.target, report))
    return 0
