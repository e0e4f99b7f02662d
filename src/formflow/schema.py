"""Loading formflow's JSON Schemas and checking data against them."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from formflow.resources import schemas_dir


@cache
def validator(name: str) -> Draft202012Validator:
    """The validator for ``schemas/NAME.schema.json``, with date formats checked."""
    schema = json.loads((schemas_dir() / f"{name}.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_errors(name: str, data: Any) -> list[ValidationError]:
    """Every way ``data`` breaks the named schema, in document order."""
    return sorted(validator(name).iter_errors(data), key=lambda e: list(e.absolute_path))
