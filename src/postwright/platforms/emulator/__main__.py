"""`python -m postwright.platforms.emulator [--host H] [--port N] [--seed S]`."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from postwright.platforms.emulator.app import run

DEFAULT_PORT = 8900


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line and serve the emulator."""
    parser = argparse.ArgumentParser(
        prog="python -m postwright.platforms.emulator",
        description="Serve the postwright platform emulator.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default: %(default)s)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=None, help="seed of fault probabilities")
    args = parser.parse_args(argv)
    run(args.host, args.port, seed=args.seed)


if __name__ == "__main__":
    main()
