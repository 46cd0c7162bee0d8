"""Training loop and evaluation (issues 3 and 4)."""
