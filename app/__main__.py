"""`python -m app` runs the `audiotag` command."""

from app.cli import main

main()
