"""Rewrite the JSON Schemas of [tool.archlint] and of packs shipped in src/archlint/schemas/."""

from __future__ import annotations

from pathlib import Path

from archlint.report import write_atomic
from archlint.schema import config_schema, pack_schema, render

SCHEMAS = Path(__file__).resolve().parents[1] / "src" / "archlint" / "schemas"

if __name__ == "__main__":
    for name, schema in (("config.schema.json", config_schema()), ("pack.schema.json", pack_schema())):
        write_atomic(SCHEMAS / name, render(schema))
        print(f"wrote {SCHEMAS / name}")
