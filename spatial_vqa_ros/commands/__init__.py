"""Subcommands of the ``spatial-vqa`` command, one module each (see cli.py)."""
