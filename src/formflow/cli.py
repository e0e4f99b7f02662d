"""The ``formflow`` command: thin over the library.

Each command parses its options, calls the library and prints; a ``FormflowError`` from
any command becomes "Error: ..." on stderr with exit status 1, here in ``LazyGroup``. Commands live in ``formflow.commands`` and are
imported only when run: the document commands pull in WeasyPrint (about a second), which
``formflow status`` or ``formflow due`` should not wait for, and the PDF reader's worker
process re-imports this module.
"""

from __future__ import annotations

import importlib

import click

from formflow import __version__
from formflow.errors import FormflowError

COMMANDS: dict[str, str] = {
    "due": "formflow.commands.procedure:due",
    "policies": "formflow.commands.procedure:policies",
    "parse": "formflow.commands.parse:parse",
    "new": "formflow.commands.documents:new",
    "render": "formflow.commands.documents:render",
    "pack": "formflow.commands.documents:pack",
    "watch": "formflow.commands.service:watch",
    "process": "formflow.commands.service:process",
    "tick": "formflow.commands.service:tick",
    "status": "formflow.commands.service:status",
    "show": "formflow.commands.service:show",
    "export": "formflow.commands.service:export",
    "report": "formflow.commands.service:report",
    "check": "formflow.commands.upkeep:check",
    "backup": "formflow.commands.upkeep:backup",
    "restore": "formflow.commands.upkeep:restore",
    "register": "formflow.commands.upkeep:register_group",
    "withdraw": "formflow.commands.events:withdraw",
    "close": "formflow.commands.events:close",
    "reopen": "formflow.commands.events:reopen",
    "escalate": "formflow.commands.events:escalate",
    "extend": "formflow.commands.events:extend",
    "reassign": "formflow.commands.events:reassign",
    "amend": "formflow.commands.events:amend",
    "merge": "formflow.commands.events:merge",
    "serve": "formflow.commands.web:serve",
    "users": "formflow.commands.web:users",
    "retention": "formflow.commands.retention:retention_group",
    "hold": "formflow.commands.retention:hold",
    "release": "formflow.commands.retention:release",
    "subject-access": "formflow.commands.subject_access:subject_access",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use, from ``COMMANDS``."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attribute = target.split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def invoke(self, ctx: click.Context) -> object:
        """Run the command; the one place a library error becomes a click error."""
        try:
            return super().invoke(ctx)
        except FormflowError as exc:
            raise click.ClickException(str(exc)) from exc


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="formflow")
def main() -> None:
    """formflow: professional challenges in children's services, from form to deadline.

    \b
    Example:
      formflow due --policy nelincs --stage 1 --from 2025-11-03
    """


if __name__ == "__main__":
    main()
