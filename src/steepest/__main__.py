"""``python -m steepest``: the command line."""

from .cli import main

main()
