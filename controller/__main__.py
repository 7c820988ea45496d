"""`python -m controller` is the `plumb` command."""

from controller.cli.main import main

main()
