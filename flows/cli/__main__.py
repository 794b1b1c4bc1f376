"""``python -m textcls.flows.cli``: the same as the ``textcls`` console script."""

from textcls.flows.cli import main

main()
