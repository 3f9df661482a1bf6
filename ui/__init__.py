"""Taxon's faces: the Qt window (``ui.app``) and the command line (``ui.cli.commands``)."""
