"""How long the `audiotag` command takes to start, against the interpreter's own start-up (the floor).

    python -m bench.startup [--runs 15]

Each command runs `--runs` times in a fresh process (after one warm-up run, so the page cache holds
the files); the median wall time is the figure, `python -c pass` the floor. `-X importtime` gives the
imports' share and says whether torch, FAISS, gensim or matplotlib were loaded.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time

from bench.report import markdown_table, show, write_section

HEAVY = ("torch", "faiss", "gensim", "matplotlib")
CLI = [sys.executable, "-m", "app"]


def wall_s(cmd: list[str], runs: int) -> float:
    """Median wall seconds of `cmd` over `runs` fresh processes, after one warm-up."""
    subprocess.run(cmd, capture_output=True, check=False)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def imports(cmd: list[str]) -> tuple[float, list[str]]:
    """(seconds of imports, heavy libraries among them) of one run under -X importtime."""
    err = subprocess.run([cmd[0], "-X", "importtime", *cmd[1:]], capture_output=True, text=True).stderr
    total, heavy = 0.0, set()
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            total += int(m.group(1)) / 1e6  # self times add up to the whole
            if m.group(4).split(".")[0] in HEAVY:
                heavy.add(m.group(4).split(".")[0])
    return total, sorted(heavy)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data:
        commands = {
            "audiotag --help": [*CLI, "--help"],
            "audiotag train --help": [*CLI, "train", "--help"],
            "audiotag stats (empty catalogue)": [*CLI, "--data-dir", data, "stats"],
            "audiotag jobs list": [*CLI, "--data-dir", data, "jobs", "list"],
        }
        floor = wall_s([sys.executable, "-c", "pass"], args.runs)
        rows = [["python -c pass (floor)", f"{1000 * floor:.0f}", "1.0", "–", "–"]]
        for name, cmd in commands.items():
            wall = wall_s(cmd, args.runs)
            spent, heavy = imports(cmd)
            rows.append([name, f"{1000 * wall:.0f}", f"{wall / floor:.1f}", f"{1000 * spent:.0f}",
                         ", ".join(heavy) or "none"])  # fmt: skip
    columns = ["command", "median ms", "× floor", "imports ms", "heavy libraries loaded"]
    show("start-up of the audiotag command", columns, rows)
    write_section(
        "CLI start-up",
        f"Median of {args.runs} fresh processes each, after a warm-up run (files in the page cache); the "
        "floor is the interpreter starting and doing nothing. `imports ms` is the sum of `python -X "
        "importtime`'s self times. Heavy libraries: torch, FAISS, gensim, matplotlib.\n\n"
        + markdown_table(columns, rows),
    )


if __name__ == "__main__":
    main()
