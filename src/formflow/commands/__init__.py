"""The CLI's command groups, one module per area; ``formflow.cli`` assembles them.

Each command parses its options, calls one library function and prints; a
``FormflowError`` becomes "Error: ..." in ``formflow.cli``, not here. ``home.opened``
opens a home (settings, procedures, register, pipeline) for the commands that need one.
The top of the tree: it may import anything in formflow, and nothing imports it but
``formflow.cli``.
"""
