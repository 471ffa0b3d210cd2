"""Subcommands of the `raekit` CLI; each module has register(subparsers)."""
from raekit.commands import demo, fetch, train

COMMAND_MODULES = (train, fetch, demo)
