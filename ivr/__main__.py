"""`python -m ivr` runs the `ivr` command."""

from .cli import main

main()
