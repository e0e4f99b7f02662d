"""A whole register copied to another engine (``formflow register copy``), and proved.

The target must be empty: a copy never mixes two registers. Every table's rows go
across as they are, ids included, in one transaction per table; then the copy is proved
row by row: each table's count, and the SHA-256 of each row's values, the same on both
sides (compared as sets, since the two engines may sort text differently).
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from formflow.errors import RegisterError
from formflow.store.register import Register


@dataclass
class CopyReport:
    counts: dict[str, int] = field(default_factory=dict)
    """Rows copied, per table."""


def row_hash(row: dict[str, Any]) -> str:
    """One row's values, by column name, as a SHA-256: the same on either engine."""
    text = json.dumps(sorted(row.items()), ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def table_hashes(register: Register, table: str) -> Counter[str]:
    return Counter(row_hash(row) for row in register.rows(table))


def refuse_filled(target: Register) -> None:
    """Raise RegisterError unless every table of ``target`` is empty."""
    filled = [table for table in target.tables() if target.rows(table)]
    if filled:
        raise RegisterError(
            f"The target register is not empty ({', '.join(filled)} have rows): a copy goes "
            "only into a new, empty register, so that no records are mixed."
        )


def copy_register(source: Register, target: Register) -> CopyReport:
    """Copy every row of ``source`` into the empty ``target``, then prove the copy."""
    tables = source.tables()
    if target.tables() != tables or source.schema_version != target.schema_version:
        raise RegisterError(
            f"The two registers have different tables (schema versions "
            f"{source.schema_version} and {target.schema_version}): open each with this "
            "formflow first, so both are brought up to date."
        )
    refuse_filled(target)
    report = CopyReport()
    with source.reading():
        for table in tables:
            rows = source.rows(table)
            target.insert_rows(table, rows)
            report.counts[table] = len(rows)
        for table in tables:
            if table_hashes(source, table) != table_hashes(target, table):
                raise RegisterError(
                    f"The copy of {table} differs from the original: do not use the target; "
                    "empty it and copy again."
                )
    return report
