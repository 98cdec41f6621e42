"""The core imports none of the adapters: rules and use cases stay testable on plain data."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

CORE = Path(__file__).resolve().parents[2] / "zorgtafel"
ADAPTERS = ("api", "flows", "notifications", "infra", "prefect", "fastapi", "apprise")


@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_module_imports_no_adapter(path: Path):
    tree = ast.parse(path.read_text())
    imported = [
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    ] + [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level == 0]
    bad = [m for m in imported if m.split(".")[0] in ADAPTERS]
    assert not bad, f"{path.relative_to(CORE)} imports {bad}"
