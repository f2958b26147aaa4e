"""The digest senders' leases are found by every process on one database file, whatever
name it opens it by: a sender never takes for dead the live lease of another that named
the database differently (through a symbolic link, or with a name that looks like a URI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatshop.storage.leases import leases_beside


def test_a_lease_taken_through_a_symbolic_link_is_alive_for_the_file_s_other_name(
        tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    database = tmp_path / "data" / "chatshop.db"
    database.touch()
    (tmp_path / "srv").mkdir()
    link = tmp_path / "srv" / "shop.db"
    link.symlink_to(database)  # the bot opens one name, ``digest send`` the other

    bot = leases_beside(link).hold()
    try:
        assert leases_beside(database).alive(bot.token)
        operator = leases_beside(database).hold()
        try:
            assert leases_beside(link).alive(operator.token)
        finally:
            operator.release()
    finally:
        bot.release()
    assert not leases_beside(database).alive(bot.token)


def test_a_database_file_named_like_a_uri_has_its_leases_beside_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    database = Path("file:chatshop.db")  # CHATSHOP_DATABASE=file:chatshop.db: a file
    database.touch()  # of that name in the working folder (never opened as a URI)
    held = leases_beside(database).hold()
    try:
        assert leases_beside(database).alive(held.token)  # as another process sees it
    finally:
        held.release()
    assert not leases_beside(database).alive(held.token)
