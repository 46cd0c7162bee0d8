"""The README's two set-up commands, read out of README.md: one runs the whole thing, one the tests.

`.ci/run` runs the test command as written (`python3 tests/readme_commands.py test` prints it) and
tests/test_readme.py the other, so the README cannot drift from what is run. Standard library only:
it runs before any virtual environment exists.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"
HEADINGS = {"run": "**Run the whole thing on the built-in corpus**", "test": "**Run the tests**"}


class ReadmeError(ValueError):
    """The README lacks one of the two commands, or has it in another shape."""


def readme_commands(readme: Path = README) -> dict[str, str]:
    """{"run": …, "test": …}: the one-line shell command in the first code block under each heading."""
    text = readme.read_text(encoding="utf-8")
    commands = {}
    for key, heading in HEADINGS.items():
        at = text.find(heading)
        block = re.compile(r"```(?:sh|bash)\n(.*?)```", re.S).search(text, at) if at >= 0 else None
        lines = [line for line in block.group(1).splitlines() if line.strip()] if block else []
        if len(lines) != 1:
            raise ReadmeError(f"README.md: no one-line command in a code block under {heading}")
        commands[key] = lines[0].strip()
    return commands


if __name__ == "__main__":
    print(readme_commands()[sys.argv[1] if len(sys.argv) > 1 else "run"])
