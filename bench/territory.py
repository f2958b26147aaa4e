"""A territory of a given size on disk, built once and reused: ``bench/memory.py``'s
database (``bench/digest.py``'s territory: shops over 13 communes, products named from
``bench/search.py``'s vocabulary with a week of news, Telegram subscribers), kept in a
cache folder under a name made of its sizes, its seed and a digest of what builds it
(the migrations and the three scripts), so that a change to any of them builds anew.

``bench/run.py --scale`` builds each size once here and hands the file to
``conversation.py`` and ``load.py`` (``--cache DIR``); they work on a copy
(``working_copy``), so the cached file stays as built.

    python bench/territory.py --products 100000 --subscribers 100000 --shops 2000 \\
        --cache /tmp/chatshop-bench-cache    # prints the file's path
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
SEED = 87600


def _recipe() -> str:
    """A short digest of what the database is made from."""
    digest = hashlib.sha256()
    sources = sorted((ROOT / "migrations").glob("*.sql"))
    sources += [BENCH / name for name in ("memory.py", "digest.py", "search.py")]
    for path in sources:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def database_name(products: int, subscribers: int, shops: int, seed: int = SEED) -> str:
    return f"territory-p{products}-u{subscribers}-s{shops}-r{seed}-{_recipe()}.db"


def cached(cache: Path, *, products: int, subscribers: int, shops: int,
           seed: int = SEED, quiet: bool = False) -> Path:
    """The database of these sizes in ``cache``, built there first if it is missing."""
    cache.mkdir(parents=True, exist_ok=True)
    path = cache / database_name(products, subscribers, shops, seed)
    if path.exists():
        if not quiet:
            print(f"data    : reusing {path}")
        return path
    import memory  # bench/memory.py: its build is the one every scale figure shares

    folder = cache / f".building-{path.stem}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    try:
        built = memory.build_database(folder / "bench.db", products=products,
                                      subscribers=subscribers, shops=shops, seed=seed)
        (folder / "bench.db").rename(path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if not quiet:
        def num(n: int) -> str:
            return f"{n:,}".replace(",", " ")

        sizes = f"{num(products)} products in {num(shops)} shops, {num(subscribers)} subscribers"
        print(f"data    : {sizes}, built in {built:.1f} s -> {path}")
    return path


def working_copy(source: Path, folder: Path) -> Path:
    """A copy of a built database in ``folder`` (its WAL too, if one was left)."""
    target = folder / "bench.db"
    shutil.copyfile(source, target)
    for suffix in ("-wal", "-shm"):
        extra = source.with_name(source.name + suffix)
        if extra.exists():
            shutil.copyfile(extra, target.with_name(target.name + suffix))
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build (or find) a territory database of "
                                                 "a given size in a cache folder.")
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--subscribers", type=int, default=10_000)
    parser.add_argument("--shops", type=int, default=200)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--cache", type=Path, required=True, help="the cache folder")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.shops < 6 or args.products < args.shops or args.subscribers < 0:
        parser.error("need at least 6 shops and one product per shop")
    started = time.perf_counter()
    path = cached(args.cache, products=args.products, subscribers=args.subscribers,
                  shops=args.shops, seed=args.seed, quiet=True)
    print(path)
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())


def add_size_options(parser: argparse.ArgumentParser) -> None:
    """--products, --shops, --subscribers and --cache: a benchmark run on a territory of
    that size (default: the demo territory)."""
    parser.add_argument("--products", type=int, default=0,
                        help="products of a territory of that size (bench/memory.py's); "
                             "default 0: the demo territory")
    parser.add_argument("--shops", type=int, default=None,
                        help="its shops (default: products / 50)")
    parser.add_argument("--subscribers", type=int, default=0,
                        help="its digest subscribers (default 0)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="a folder of built territories to reuse (bench/territory.py)")
