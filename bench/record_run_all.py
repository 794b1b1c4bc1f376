"""Record how long ``bench/run_all`` took, in its BENCHMARKS.md section (run_all calls this).

python bench/record_run_all.py SECONDS [--extended]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import machine_info, save_result, update_section  # noqa: E402


def main() -> None:
    seconds = float(sys.argv[1])
    extended = "--extended" in sys.argv[2:]
    info = machine_info()
    command = "bench/run_all" + (" --extended" if extended else "")
    save_result("run_all", {"command": command, "seconds": seconds})
    update_section(
        "run-all",
        f"## Regenerating everything\n\n`{command}` took {seconds / 60:.0f} min on {info['cpu']} "
        f"({info['cores']} cores), one benchmark after another (target: under an hour for the "
        f"main tables): {'met' if seconds < 3600 or extended else 'missed'}.",
    )


if __name__ == "__main__":
    main()
