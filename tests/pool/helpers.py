"""Request bodies and small helpers for the pool tests."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient

POOL = "/api/v1/pool"


def new_expert(client: TestClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    """POST an expert of the test agency A; returns the created expert."""
    body = expert_body(**overrides)
    response = client.post(f"{POOL}/experts", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def expert_body(**overrides: Any) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:8]
    body: dict[str, Any] = {
        "agency_code": "pool-test-a",
        "name": f"Pooltest Expert {tag}",
        "email": f"expert.{tag}@pooltest.example",
        "phone": "+32 11 22 33 44",
        "expertise": ["attachment", "parenting_support"],
        "meeting_hours": "mon-thu 09:00-17:00",
        "weekly_cap": 3,
    }
    body.update(overrides)
    return body
