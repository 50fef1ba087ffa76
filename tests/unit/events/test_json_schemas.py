"""The published JSON Schemas in schemas/json/ match the models."""

from __future__ import annotations

import json
from pathlib import Path

from schemas.events import EVENT_TYPES
from schemas.events.export import JSON_DIR, REGENERATE, schema_documents, stale_files, write_all


def test_published_schemas_are_up_to_date() -> None:
    """Every generated schema file exists and equals what the models give now."""
    stale = stale_files()
    assert not stale, f"stale JSON Schemas in {JSON_DIR}: {stale}; run `{REGENERATE}`"


def test_there_is_one_schema_per_event_and_one_for_the_pool_file() -> None:
    """The export covers every event type by class name, plus pool.json."""
    names = set(schema_documents())
    assert names == {f"{cls.__name__}.json" for cls in EVENT_TYPES} | {"pool.json"}


def test_event_schemas_pin_type_and_version() -> None:
    """A schema says which type tag and version its payloads carry."""
    doc = json.loads(schema_documents()["VMCreated.json"])
    assert doc["properties"]["type"]["const"] == "vm_created"
    assert doc["properties"]["schema_version"]["const"] == 2
    assert {"event_id", "at", "epoch", "spec"} <= set(doc["required"])
    assert doc["additionalProperties"] is False


def test_a_changed_model_is_detected_as_stale(tmp_path: Path) -> None:
    """After writing, a tampered file is reported stale and a rewrite fixes it."""
    write_all(tmp_path)
    assert stale_files(tmp_path) == []
    (tmp_path / "HostJoined.json").write_text("{}\n")
    assert stale_files(tmp_path) == ["HostJoined.json"]
    assert write_all(tmp_path) == ["HostJoined.json"]
    assert stale_files(tmp_path) == []
