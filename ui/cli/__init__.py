"""Taxon's command line: ``main`` runs a sub-command, ``build_parser`` describes them all.

Nothing in this package imports Qt (an import-linter contract), so the headless
commands start fast and run where no display exists.
"""

from ui.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
