"""The ``formflow`` command: thin over the library.

Each command parses its options, calls the library and turns ``FormflowError`` into
"Error: ..." on stderr with exit status 1. Command groups live beside their library
modules' names in ``formflow.commands``; this module only assembles them.
"""

from __future__ import annotations

import click

from formflow import __version__
from formflow.commands import documents, parse, procedure, service


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="formflow")
def main() -> None:
    """formflow: professional challenges in children's services, from form to deadline.

    \b
    Example:
      formflow due --policy nelincs --stage 1 --from 2025-11-03
    """


main.add_command(procedure.due)
main.add_command(procedure.policies)
main.add_command(parse.parse)
for _command in service.COMMANDS:
    main.add_command(_command)
for _command in documents.COMMANDS:
    main.add_command(_command)
