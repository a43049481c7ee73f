"""``python -m nmlhub.batch run-one RUN_DIR`` and ``worker BATCH_DIR RUNS_FILE``: what executors
start, without the rest of the ``nmlhub`` command line (quicker to start, once per run)."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "run-one":
        from .runner import run_one

        return run_one(argv[1])
    if len(argv) == 3 and argv[0] == "worker":
        from .executors.mpi import serve

        return serve(argv[1], argv[2])
    print("usage: python -m nmlhub.batch run-one RUN_DIR | worker BATCH_DIR RUNS_FILE", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
