"""Security headers on every answer, whatever route or status."""

from __future__ import annotations


def test_every_answer_carries_the_security_headers(client, owner):
    for response in (client.get("/readyz"), client.get("/api/v1/me", headers=owner.headers),
                     client.get("/api/v1/me"), client.get("/no/such/page")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
