"""Where formflow's own data files live: schemas, policies and templates.

They sit at the top of the repository (the layout the project documents), so an
editable install finds them beside ``src/``. ``FORMFLOW_DATA`` points elsewhere
for an installation that keeps them apart.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_root() -> Path:
    override = os.environ.get("FORMFLOW_DATA")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2]


def schemas_dir() -> Path:
    return data_root() / "schemas"


def policies_dir() -> Path:
    return data_root() / "policies"


def templates_dir() -> Path:
    return data_root() / "templates"
