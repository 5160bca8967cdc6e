"""Reading a provider's `fixtures/` folder: webhook payloads shaped like the provider's, one JSON file
per event kind, stored as the provider sends them (escaped unicode). Sign `fixture_bytes(name)`, the
exact bytes you POST, never a re-serialisation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def fixture_functions(package_file: str) -> tuple[Callable[[], list[str]], Callable[[str], bytes],
                                                   Callable[[str], dict[str, Any]]]:
    """(fixture_names, fixture_bytes, load_fixture) of the fixtures folder holding `package_file`."""
    folder = Path(package_file).resolve().parent

    def fixture_names() -> list[str]:
        return sorted(p.stem for p in folder.glob("*.json"))

    def fixture_bytes(name: str) -> bytes:
        return (folder / f"{name}.json").read_bytes()

    def load_fixture(name: str) -> dict[str, Any]:
        data = json.loads(fixture_bytes(name))
        if not isinstance(data, dict):
            raise ValueError(f"fixture {name} is not a JSON object")
        return data

    return fixture_names, fixture_bytes, load_fixture
