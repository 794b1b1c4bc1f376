"""Entry point of one torchrun rank: ``python -m textcls.training.worker WORK_DIR``."""

from __future__ import annotations

import sys
from pathlib import Path

from textcls.training.frozen_heap import frozen_heap
from textcls.training.job import train_in_work_dir


def main() -> None:
    with frozen_heap():  # the rank's imports are no training garbage (see frozen_heap)
        train_in_work_dir(Path(sys.argv[1]))


if __name__ == "__main__":
    main()
