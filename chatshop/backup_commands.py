"""``chatshop backup [FILE]`` and ``chatshop restore FILE [--force]`` (issue #15): the
command line of ``chatshop.storage.backup``, its answers in French.

A backup may be taken while the bot runs; it is written under a hidden name, checked,
then renamed, and never replaces a file that exists. A restore is refused while the bot
runs on the database (``chatshop.running``), when the file is not a sound chatshop
database or is newer than this chatshop, and, when a database is there already, without
``--force``; the database it replaces is kept beside it
(``<database>.before-restore-<when>``). Both hold the running lock while they work, so a
bot started meanwhile waits for the restore.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from chatshop.config import Settings
from chatshop.errors import ConfigError
from chatshop.i18n import _, format_number, ngettext
from chatshop.running import bot_is_running, copying
from chatshop.storage.backup import (
    BackupCheck,
    BackupRefused,
    check_backup,
    restore_backup,
    take_backup,
)
from chatshop.storage.copying import newest_version
from chatshop.storage.postgres import is_postgresql
from chatshop.storage.store import sqlite_path

Command = Callable[[str, str, str], argparse.ArgumentParser]


def add_commands(command: Command,
                 database_option: Callable[[argparse.ArgumentParser], None]) -> None:
    backup = command("backup", _("write a checked copy of the database (the bot may run)"), _(
        "Write a consistent copy of the SQLite database to FILE (by default beside it, "
        "named with the date and time), while the bot runs if it does; the copy is "
        "checked (integrity, schema version, rows, stock ledger) before it gets its "
        "name. On PostgreSQL, use pg_dump."))
    backup.add_argument("file", nargs="?", metavar=_("FILE"),
                        help=_("where to write the copy (must not exist)"))
    database_option(backup)
    restore = command("restore", _("put a backup in place of the database (bot stopped)"), _(
        "Check FILE, then put it in place of the SQLite database, with the bot stopped; "
        "the database it replaces is kept beside it. A database that is there already "
        "is replaced only with --force."))
    restore.add_argument("file", metavar=_("FILE"), help=_("the backup to restore"))
    restore.add_argument("--force", action="store_true",
                         help=_("replace the database that is there (it is kept aside)"))
    database_option(restore)


def run(args: argparse.Namespace, settings: Settings) -> str:
    """Run ``backup`` or ``restore``; what was done, in French; a refusal raises
    ``ConfigError``."""
    if is_postgresql(settings.database):
        raise ConfigError(_("chatshop {command} works on a SQLite database; on PostgreSQL, "
                            "use pg_dump and the server's WAL archiving (README, "
                            "« Backups »).").format(command=args.command))
    database = sqlite_path(settings.database)
    if args.command == "backup":
        return _backup(database, Path(args.file) if args.file else None)
    return _restore(Path(args.file), database, force=args.force)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def _backup(database: Path, file: Path | None) -> str:
    if not database.is_file():
        raise ConfigError(_("CHATSHOP_DATABASE: there is no database {path} to back up.")
                          .format(path=database))
    target = file or database.with_name(f"{database.stem}-{_stamp()}.db")
    if target.exists():
        raise ConfigError(_("{file} exists already: a backup never replaces a file; "
                            "give another name.").format(file=target))
    if not target.parent.is_dir():
        raise ConfigError(_("there is no folder {folder} to write {file} in.").format(
            folder=target.parent, file=target.name))
    try:
        check = take_backup(database, target)
    except BackupRefused as why:
        raise ConfigError(_("the backup was not kept: {why}.").format(why=_reason(why))
                          ) from None
    return _("Backup written to {file} and checked: {summary}.").format(
        file=target, summary=_summary(check))


def _restore(file: Path, database: Path, *, force: bool) -> str:
    if bot_is_running(str(database)):
        raise ConfigError(_("the bot runs on {database}: stop it before restoring.")
                          .format(database=database))
    try:
        with copying(str(database)):
            return _put_in_place(file, database, force=force)
    except BackupRefused as why:
        raise ConfigError(_("{file} cannot be restored: {why}; nothing was changed.")
                          .format(file=file, why=_reason(why))) from None


def _put_in_place(file: Path, database: Path, *, force: bool) -> str:
    check = check_backup(file)
    if check.version > newest_version():
        raise ConfigError(_("{file} was written by a newer chatshop (schema version "
                            "{version}): restore it with that version; nothing was "
                            "changed.").format(file=file, version=check.version))
    if database.exists() and not force:
        raise ConfigError(_("{database} exists: --force replaces it (it is kept aside); "
                            "nothing was changed.").format(database=database))
    aside = database.with_name(f"{database.name}.before-restore-{_stamp()}")
    restore_backup(file, database, aside)
    kept = _(" The database it replaced is kept as {aside}.").format(aside=aside) \
        if aside.exists() else ""
    return _("{database} restored from {file}: {summary}.").format(
        database=database, file=file, summary=_summary(check)) + kept


def _reason(why: BackupRefused) -> str:
    """What the check found, in French."""
    if why.kind == "missing":
        return _("there is no such file")
    if why.kind == "not-sqlite":
        return _("it is not a SQLite database")
    if why.kind == "damaged":
        return _("the copy is damaged ({detail})").format(detail=why.detail)
    if why.kind == "ledger":
        return ngettext("the stock ledger does not add up for {count} product",
                        "the stock ledger does not add up for {count} products",
                        why.count).format(count=format_number(why.count))
    if why.kind == "version":
        return _("the copy's schema version is not the database's ({detail})").format(
            detail=why.detail)
    return _("it is not a chatshop database")


def _summary(check: BackupCheck) -> str:
    rows = ngettext("{rows} row", "{rows} rows", check.total_rows).format(
        rows=format_number(check.total_rows))
    return _("schema version {version}, {rows} in {tables} tables, {size} kB").format(
        version=check.version, rows=rows, tables=format_number(len(check.rows)),
        size=format_number(check.size // 1024))
