"""formflow: professional challenge and escalation in children's services.

The package is a functional core (``calendar``, ``policy``, ``engine``, ``record``)
inside an imperative shell (intake, rendering, register, watcher, CLI).
"""

__version__ = "0.1.0"
