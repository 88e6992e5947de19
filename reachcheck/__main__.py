"""`python -m reachcheck` runs the command line."""

from reachcheck.cli import main

main()
