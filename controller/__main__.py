"""`python -m controller` is the `plumb` command."""

from controller.cli import main

main()
