"""Write the JSON Schema of every event, and of the pool file, to schemas/json/.

    python -m schemas.events.export           # (re)write the files
    python -m schemas.events.export --check   # exit 1 if any file is stale

The files are generated: a test fails when they no longer match the models, so a change to
an event cannot ship without its published schema.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.events.union import EVENT_TYPES
from schemas.pool import Pool

JSON_DIR = Path(__file__).resolve().parent.parent / "json"
REGENERATE = "python -m schemas.events.export"
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _document(model: type[BaseModel], title: str) -> str:
    schema: dict[str, Any] = {"$schema": _DIALECT, **model.model_json_schema()}
    schema["title"] = title
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def schema_documents() -> dict[str, str]:
    """File name -> content of every generated schema (pure: nothing is written)."""
    docs = {f"{cls.__name__}.json": _document(cls, cls.__name__) for cls in EVENT_TYPES}
    docs["pool.json"] = _document(Pool, "Pool file")
    return docs


def stale_files(directory: Path = JSON_DIR) -> list[str]:
    """Names of the generated files that are missing or differ from the models."""
    stale = []
    for name, text in schema_documents().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            stale.append(name)
    return stale


def write_all(directory: Path = JSON_DIR) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in schema_documents().items():
        path = directory / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            written.append(name)
    return written


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = stale_files()
        if stale:
            print(f"stale JSON Schemas: {', '.join(stale)} (run `{REGENERATE}`)", file=sys.stderr)
            return 1
        return 0
    written = write_all()
    print(f"{len(written)} schema file(s) written to {JSON_DIR}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
