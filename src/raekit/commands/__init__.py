"""Subcommands of the `raekit` CLI; each module has register(subparsers)."""

from raekit.commands import demo, evaluate, fetch, fid, generate, grammar, train

COMMAND_MODULES = (train, fetch, generate, evaluate, fid, grammar, demo)
