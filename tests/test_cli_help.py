"""Every option of every command explains itself in --help."""

from __future__ import annotations

import click

from fahras.cli import cli


def _commands(command: click.Command, path: tuple[str, ...] = ("fahras",)):
    yield path, command
    if isinstance(command, click.Group):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


def test_every_option_of_every_command_has_help():
    missing = []
    seen = 0
    for path, command in _commands(cli):
        for param in command.get_params(click.Context(command)):
            if isinstance(param, click.Option) and not param.hidden:
                seen += 1
                if not (param.help or "").strip():
                    missing.append(f"{' '.join(path)} {param.opts[0]}")
    assert seen > 30  # the walk did reach the commands' options
    assert not missing, "options without help: " + ", ".join(missing)


def test_every_command_has_a_description():
    for path, command in _commands(cli):
        assert (command.help or "").strip(), " ".join(path)
