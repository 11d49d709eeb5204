"""Run every bench scenario in turn: `bench/run_all.py --quick` (make bench-quick) proves they all run.

    .venv/bin/python bench/run_all.py [--quick] [--only submit,awards] [--json-dir DIR]

Exits non-zero if a script crashes (or the awards exactly-once check fails). Missed performance
targets do not fail the run: they are printed as FAIL in each table; quick sizes prove nothing about them.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
SCENARIOS = [
    "submit", "awards", "leaderboard", "leaderboard-proxy", "recalc", "ledger", "export", "seed", "growth",
    "live", "webhooks",
]  # fmt: skip
# Scenarios that are another script run with options: the script and its arguments.
VARIANTS = {"leaderboard-proxy": ("leaderboard", ["--via-proxy"])}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--only", default=",".join(SCENARIOS))
    p.add_argument("--json-dir", help="Write each scenario's JSON to DIR/<scenario>.json.")
    args = p.parse_args()
    failed = []
    for name in args.only.split(","):
        script, options = VARIANTS.get(name, (name, []))
        cmd = [sys.executable, str(BENCH / f"{script}.py"), *options]
        if args.quick:
            cmd.append("--quick")
        if args.json_dir:
            Path(args.json_dir).mkdir(parents=True, exist_ok=True)
            cmd += ["--json", str(Path(args.json_dir) / f"{name}.json")]
        print(f"\n=== bench {name}{' (quick)' if args.quick else ''}", flush=True)
        started = time.perf_counter()
        code = subprocess.run(cmd, check=False, timeout=3 * 3600).returncode
        print(f"=== bench {name}: exit {code} in {time.perf_counter() - started:.0f} s", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"\nbench scripts that failed: {', '.join(failed)}")
        return 1
    print("\nevery bench script ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
