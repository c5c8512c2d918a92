"""Whether a `flask ...` command line that a unit or the compose file runs names a real command
of the shop and parses (required options given), without running it."""

import click


def parse_error(app, words: list[str]) -> str | None:
    """None when the command line parses; else what is wrong with it."""
    command, args, path = app.cli, list(words), []
    while isinstance(command, click.Group) and args and not args[0].startswith("-"):
        name = args.pop(0)
        path.append(name)
        with click.Context(command) as context:
            command = command.get_command(context, name)
        if command is None:
            return f"no command `flask {' '.join(path)}`"
    if isinstance(command, click.Group):
        return f"`flask {' '.join(path)}` is a group, not a command"
    try:
        command.make_context(" ".join(path), args)
    except click.ClickException as error:
        return f"`flask {' '.join(words)}`: {error.format_message()}"
    return None
