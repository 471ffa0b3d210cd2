"""Every subcommand and option of `raekit` explains itself: a help text, and the default shown
wherever there is one; the main commands end their --help with examples."""

import argparse

import pytest

from raekit import __version__
from raekit.cli import build_parser, main

MAIN_COMMANDS = ("train", "evaluate", "reproduce", "fid", "fit-density", "sample")


def _subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                yield name, helps.get(name), sub


def _options(parser):
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
            continue
        yield action


def test_every_subcommand_and_option_has_help_with_its_default():
    parser = build_parser()
    missing, no_default = [], []
    commands = list(_subcommands(parser))
    assert len(commands) >= 16
    for name, help_text, sub in commands:
        if not help_text:
            missing.append(name)
        for action in _options(sub):
            label = f"{name} {'/'.join(action.option_strings) or action.dest}"
            if not action.help or action.help == argparse.SUPPRESS:
                missing.append(label)
                continue
            shown = sub._get_formatter()._expand_help(action)  # as --help prints it
            real_default = action.default not in (None, [], argparse.SUPPRESS) and not isinstance(
                action.default, bool
            )
            if real_default and action.option_strings and "default" not in shown:
                no_default.append(label)
    assert missing == [], f"no help text: {missing}"
    assert no_default == [], f"default not shown: {no_default}"


@pytest.mark.parametrize("command", MAIN_COMMANDS)
def test_main_commands_show_examples(command):
    sub = {n: s for n, _, s in _subcommands(build_parser())}[command]
    epilog = sub.epilog or ""
    assert epilog.startswith("examples:") and f"raekit {command} " in epilog
    assert "examples:\n" in sub.format_help()  # the lines are kept as written


def test_version(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0 and capsys.readouterr().out.strip() == f"raekit {__version__}"
