"""A local OAuth2 / OpenID Connect provider on 127.0.0.1 for tests.

Serves discovery, JWKS, an auto-approving `/authorize` (302 back with a code)
and `/token` (authorization_code with PKCE S256, refresh_token), checking the
client's basic auth. id_tokens are RS256-signed with a test key (joserfc).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

from joserfc import jwt
from joserfc.jwk import RSAKey

CLIENT_ID = "lightning-test-client"
CLIENT_SECRET = "s3cret-client-value-123"


@dataclass
class Provider:
    url: str = ""
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": "test-key"})
    )
    email: str = "sso.person@example.org"
    email_verified: bool = True
    expires_in: int = 3600
    codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    refresh_tokens: dict[str, int] = field(default_factory=dict)
    token_requests: list[dict[str, str]] = field(default_factory=list)
    issued: int = 0
    refuse_refresh: bool = False
    wrong_audience: bool = False

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "authorization_endpoint": f"{self.url}/authorize",
            "token_endpoint": f"{self.url}/token",
            "jwks_uri": f"{self.url}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def id_token(self, nonce: str | None) -> str:
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": "subject-1",
            "aud": "someone-else" if self.wrong_audience else CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "email": self.email,
            "email_verified": self.email_verified,
            "given_name": "Sso",
            "family_name": "Person",
        }
        if nonce:
            claims["nonce"] = nonce
        header = {"alg": "RS256", "kid": self.key.kid}
        return jwt.encode(header, claims, self.key)

    def new_token(self, nonce: str | None, scope: str) -> dict[str, Any]:
        self.issued += 1
        refresh = f"refresh-{secrets.token_hex(8)}"
        self.refresh_tokens[refresh] = self.issued
        token = {
            "access_token": f"access-{self.issued}-{secrets.token_hex(8)}",
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": refresh,
            "scope": scope,
        }
        if "openid" in scope.split():
            token["id_token"] = self.id_token(nonce)
        return token


def _client_ok(headers: Any) -> bool:
    expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return headers.get("authorization") == f"Basic {expected}"


@contextmanager
def local_oauth_provider() -> Iterator[Provider]:
    provider = Provider()

    class Handler(BaseHTTPRequestHandler):
        def _json(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/.well-known/openid-configuration":
                return self._json(200, provider.discovery())
            if url.path == "/jwks":
                return self._json(200, {"keys": [provider.key.as_dict(private=False)]})
            if url.path == "/authorize":
                if query.get("client_id") != CLIENT_ID:
                    return self._json(400, {"error": "invalid_client"})
                code = secrets.token_urlsafe(16)
                provider.codes[code] = query
                target = (
                    query["redirect_uri"]
                    + "?"
                    + urlencode({"code": code, "state": query.get("state", "")})
                )
                self.send_response(302)
                self.send_header("location", target)
                self.end_headers()
                return None
            return self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            provider.token_requests.append(form)
            if self.path != "/token":
                return self._json(404, {"error": "not_found"})
            if not _client_ok(self.headers):
                return self._json(401, {"error": "invalid_client"})
            if form.get("grant_type") == "authorization_code":
                request = provider.codes.pop(form.get("code", ""), None)
                if request is None:
                    return self._json(400, {"error": "invalid_grant"})
                digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
                challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if challenge != request.get("code_challenge"):
                    return self._json(400, {"error": "invalid_grant", "error_description": "pkce"})
                if form.get("redirect_uri") != request.get("redirect_uri"):
                    return self._json(400, {"error": "invalid_grant"})
                token = provider.new_token(request.get("nonce"), request.get("scope", ""))
                return self._json(200, token)
            if form.get("grant_type") == "refresh_token":
                if (
                    provider.refuse_refresh
                    or form.get("refresh_token") not in provider.refresh_tokens
                ):
                    return self._json(400, {"error": "invalid_grant"})
                provider.refresh_tokens.pop(form["refresh_token"])
                return self._json(200, provider.new_token(None, form.get("scope", "")))
            return self._json(400, {"error": "unsupported_grant_type"})

        def log_message(self, *_args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        httpd.shutdown()
        httpd.server_close()
