"""Signing a TestClient in and calling the builder's JSON endpoints with the page's CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests import factories
from tests.support.web import csrf_token, sign_in


class Builder:
    """A signed-in client of one project's builder endpoints."""

    def __init__(self, client: TestClient, user: factories.User, project: Any) -> None:
        client.cookies.clear()  # one client, one signed-in user at a time
        sign_in(client, user.email, factories.PASSWORD)
        self.client = client
        self.project = project
        self.base = f"/projects/{project.id}/builder"
        self.token = csrf_token(client, "/profile")

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.token}

    def page(self, workflow_id: Any = None, query: str = "") -> Any:
        return self.client.get(
            f"/projects/{self.project.id}/workflows/{workflow_id or 'new'}{query}",
            follow_redirects=False,
        )

    def save(self, document: dict[str, Any], workflow_id: Any = None, **extra: Any) -> Any:
        body = {"document": document, **extra}
        if workflow_id is None:
            return self.client.post(f"{self.base}/workflows", json=body, headers=self.headers)
        url = f"{self.base}/workflows/{workflow_id}"
        return self.client.put(url, json=body, headers=self.headers)

    def run(self, workflow_id: Any, **body: Any) -> Any:
        url = f"{self.base}/workflows/{workflow_id}/runs"
        return self.client.post(url, json=body, headers=self.headers)


def document(**fields: Any) -> dict[str, Any]:
    """A workflow document as the builder's script sends it (JSON, client ids)."""
    return factories.workflow_doc(**fields).model_dump(mode="json")
