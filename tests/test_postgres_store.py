"""The PostgreSQL store's own parts (issue #14): what the tests run on both engines do
not show, the advisory-lock leases that die with their process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from chatshop.services import Services
from chatshop.storage.postgres_leases import PostgresLeases
from tests.conftest import Territory


async def test_a_customer_finds_and_reserves_the_honey(territory: Territory,
                                                       services: Services) -> None:
    honey = await territory.product("Miel de châtaignier", on_hand=3)
    found = await services.search.search("miel")
    assert [p.product.id for p in found.items] == [honey.id]


HOLDER = textwrap.dedent("""
    import os, signal, sys
    from chatshop.storage.postgres_leases import PostgresLeases
    lease = PostgresLeases(sys.argv[1]).hold()
    print(lease.token, flush=True)
    sys.stdin.readline()
    os.kill(os.getpid(), signal.SIGKILL)
""")


def test_a_lease_lives_while_held_and_dies_with_its_process(postgres_dsn: str) -> None:
    leases = PostgresLeases(postgres_dsn)
    try:
        mine = leases.hold()
        assert leases.alive(mine.token)
        mine.release()
        assert not leases.alive(mine.token)

        holder = subprocess.Popen([sys.executable, "-c", HOLDER, postgres_dsn],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  env={**os.environ})
        assert holder.stdout is not None
        assert holder.stdin is not None
        token = holder.stdout.readline().strip()
        assert leases.alive(token)  # another process's lease, seen from here
        assert leases.alive(token)  # asking does not take it
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(30) == -signal.SIGKILL
        for _ in range(50):  # the server sees the closed socket at once; allow a moment
            if not leases.alive(token):
                break
            time.sleep(0.05)
        assert not leases.alive(token)
        assert not leases.alive("not-a-lease")
    finally:
        leases.close()
