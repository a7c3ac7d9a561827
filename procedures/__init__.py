"""The installed procedures: one TOML file each in this folder, and the one reader of them.

The domain core parses and validates a procedure from plain data (``parse_procedure``); reading
files is this adapter's job, so the core does no I/O.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from domain.procedure import Procedure, ProcedureError, parse_procedure

__all__ = ["PROCEDURES_DIR", "ProcedureError", "get_procedure", "load_all", "load_procedure"]


def load_procedure(path: Path) -> Procedure:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProcedureError(f"{path}: no such procedure file") from None
    except tomllib.TOMLDecodeError as error:
        raise ProcedureError(f"{path}: not valid TOML: {error}") from None
    return parse_procedure(data, str(path))


PROCEDURES_DIR = Path(__file__).resolve().parent


def load_all(directory: Path = PROCEDURES_DIR) -> dict[str, Procedure]:
    """Every installed procedure by id; refuses two files with the same id."""
    found: dict[str, Procedure] = {}
    for path in sorted(directory.glob("*.toml")):
        procedure = load_procedure(path)
        if procedure.id in found:
            raise ProcedureError(f"{path}: id: '{procedure.id}' is used by another file too")
        found[procedure.id] = procedure
    return found


def get_procedure(procedure_id: str, directory: Path = PROCEDURES_DIR) -> Procedure:
    procedures = load_all(directory)
    if procedure_id not in procedures:
        known = ", ".join(sorted(procedures))
        raise ProcedureError(f"unknown procedure '{procedure_id}' (installed: {known})")
    return procedures[procedure_id]
