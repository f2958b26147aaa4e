"""A territory copied from one database into another, either engine either side (what
``chatshop db copy`` does, through the two sides of ``chatshop.storage.copy_sides``).

``check_source`` and ``check_target`` write nothing, and raise a ``CopyRefused``
(``chatshop.storage.copy_errors``) when the copy may not go ahead. ``copy_rows`` fills
the target (migrated) in one transaction: every table in the order of its foreign keys
(read from the target's schema), in batches, ids kept (PostgreSQL's identity sequences
set past the largest id afterwards). The search index is not copied: the target's is
emptied and marked stale, and rebuilt by opening the target. Before the commit the row
counts of every table are compared, and the stock ledger checked on the target (each
product's ``on_hand`` is the sum of its ``stock_movements``, as ``record_movement``
keeps it); a difference cancels the copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chatshop.storage.copy_errors import (
    DATABASE_ERRORS,
    CopyFailed,
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
from chatshop.storage.copy_sides import Side, SqliteSide
from chatshop.storage.migrations import discover

Progress = Callable[[str, int, int], None]
"""Told (table, rows copied, rows in all) after each batch."""


def foreign_key_order(references: dict[str, set[str]]) -> list[str]:
    """The tables, each after those it references (alphabetical among equals)."""
    order: list[str] = []
    placed: set[str] = set()
    waiting = dict(references)
    while waiting:
        ready = sorted(t for t, refs in waiting.items() if refs - {t} <= placed)
        if not ready:
            raise ValueError(f"foreign keys in a circle: {', '.join(sorted(waiting))}")
        for table in ready:
            order.append(table)
            placed.add(table)
            del waiting[table]
    return order


@dataclass
class Report:
    """What a copy did: the rows of each table copied, the products whose stock is what
    their ledger says, and those whose stock was already not so at the source (copied
    as they were)."""

    counts: dict[str, int] = field(default_factory=dict)
    products: int = 0
    ledger_off_at_source: int = 0


def newest_version() -> int:
    return len(discover())


def check_source(source: Side, target: Side) -> None:
    """Refused unless ``source`` is a chatshop database at the newest schema, other than
    ``target``."""
    if not source.exists:
        raise SourceMissing(source.name)
    if source.identity() == target.identity():
        raise SameDatabase(source.name)
    newest = newest_version()
    try:
        version = source.version()
        tables = source.tables()
    except DATABASE_ERRORS as why:
        raise NotChatshop(source.name) from why
    if version == 0 or "shops" not in tables:
        raise NotChatshop(source.name)
    if version > newest:
        raise NewerSchema(source.name, version, newest)
    if version < newest:
        raise OlderSource(source.name, version, newest)


def check_target(target: Side, *, force: bool) -> None:
    """Refused unless ``target`` is new, or a chatshop database not newer than this
    chatshop's that holds no data (or ``force``), in a folder that exists."""
    newest = newest_version()
    try:
        version = target.version()
        tables = target.tables()
    except DATABASE_ERRORS as why:
        raise NotChatshop(target.name) from why
    if version > newest:
        raise NewerSchema(target.name, version, newest)
    if version == 0 and tables:
        raise NotChatshop(target.name)
    if version and not force and target.holds_data():
        raise TargetNotEmpty(target.name)
    if isinstance(target, SqliteSide) and not target.path.parent.is_dir():
        raise TargetFolderMissing(target.name, str(target.path.parent))


def copy_rows(source: Side, target: Side, progress: Progress) -> Report:
    """Every table from ``source`` into ``target`` (migrated) in one transaction, with
    the checks before the commit; a ``CopyRefused`` (and nothing written) when one
    fails."""
    order = foreign_key_order(target.references())
    missing = sorted(set(source.copied_tables()) - set(order))
    if missing:
        raise TablesDiffer(missing)
    report = Report()
    source.begin_read()
    target.begin_write()
    try:
        target.empty(order)
        for table in order:
            wanted = target.columns(table)
            available = source.columns(table)
            absent = [c for c in wanted if c not in available and c != "rowid"]
            if absent:
                raise TablesDiffer(absent, table=table)
            columns = [c for c in wanted if c in available]
            total = source.count(table)
            copied = 0
            progress(table, copied, total)
            for batch in source.rows(table, columns):
                target.insert(table, columns, batch)
                copied += len(batch)
                progress(table, copied, total)
            report.counts[table] = total
        target.identities()
        target.stale_search()
        _verify(source, target, report)
        target.commit()
    except DATABASE_ERRORS as why:
        target.rollback()
        raise CopyFailed(" ".join(str(why).split())) from why
    except BaseException:
        target.rollback()
        raise
    finally:
        source.rollback()
    return report


def _verify(source: Side, target: Side, report: Report) -> None:
    """The row counts of both sides, the foreign keys and the ledger on the target."""
    differ = [t for t, n in report.counts.items() if target.count(t) != n]
    broken = target.problems()
    if differ or broken:
        raise RowsDiffer(differ or broken)
    off = target.ledger_mismatches()
    report.products = report.counts.get("products", 0) - off
    if off:
        report.ledger_off_at_source = source.ledger_mismatches()
        if report.ledger_off_at_source != off:
            raise LedgerOff(off)
