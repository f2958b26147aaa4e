"""Run the command line with ``python -m chatshop``."""

from chatshop.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
