"""The OCI distribution API (v1.1) as Helm's registry client (oras-go) uses it, and its token service.

Reads: `/v2/` (the ping a login makes), manifests by tag or digest (GET, HEAD), blobs by digest
(GET, HEAD), tags/list. Writes, for `helm push`: blob uploads (POST, then PATCH chunks and/or a
closing PUT with the digest, or one monolithic POST; cross-repository mounts) and manifest PUTs.
Every request carries a bearer token from `/token`, which hands one out for Basic credentials
(GET, as the distribution token spec says) or an OAuth2 password grant (POST, which Helm's login
tries first).
"""

import json
import re
import secrets
import time
import uuid
from urllib.parse import parse_qs

from tests.sandbox.charts.store import OCI_MANIFEST_TYPE, digest_of

SERVICE = "sandbox-charts"
NAME = r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
ROUTE = re.compile(rf"^/v2/(?P<name>{NAME})/(?P<kind>manifests|blobs|tags)/(?P<rest>.+)$")
DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


class RegistryError(Exception):
    """An answer in the distribution API's error shape: {"errors": [{"code", "message", "detail"}]}."""

    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.headers = headers or {}

    def body(self):
        return {"errors": [{"code": self.code, "message": str(self), "detail": None}]}


class Tokens:
    """Bearer tokens: token -> (user, granted "repository:action" pairs, expiry)."""

    def __init__(self, lifetime):
        self.lifetime = lifetime
        self.issued = {}

    def issue(self, user, scopes):
        granted = set()
        for scope in scopes:
            parts = scope.split(":")
            if len(parts) == 3 and parts[0] == "repository":
                granted |= {(parts[1], action) for action in parts[2].split(",") if action in ("pull", "push")}
        token = secrets.token_urlsafe(24)
        now = time.time()
        self.issued = {key: value for key, value in self.issued.items() if value[2] > now}
        self.issued[token] = (user, granted, now + self.lifetime)
        return {"token": token, "access_token": token, "expires_in": self.lifetime,
                "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))}

    def allows(self, header, repository, action):
        """The token's user when header carries a live token granting action on repository (any token for the ping)."""
        if not header.startswith("Bearer "):
            return None
        user, granted, expiry = self.issued.get(header[7:].strip(), (None, set(), 0))
        if expiry < time.time():
            return None
        if repository is None or (repository, action) in granted:
            return user
        return None


def token_request(method, query, body, basic):
    """(username, password, scopes) of a token request: basic is the (username, password) of its Basic header."""
    if method == "GET":
        return basic + (query.get("scope", []),)
    form = {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}
    if form.get("grant_type") != "password":
        raise RegistryError(400, "UNSUPPORTED", "only the password grant is supported")
    return form.get("username"), form.get("password"), form.get("scope", "").split()


class Registry:
    """Answers one /v2/ request: (status, body bytes, content type, headers); raises RegistryError."""

    def __init__(self, store, tokens):
        self.store = store
        self.tokens = tokens

    def handle(self, method, path, query, headers, body, realm, entry):
        repository, kind, rest = None, "ping", ""
        if path.rstrip("/") != "/v2":
            match = ROUTE.match(path)
            if not match:
                raise RegistryError(404, "NAME_INVALID", f"no such route {path}")
            repository, kind, rest = match.group("name"), match.group("kind"), match.group("rest")
        action = "pull" if method in ("GET", "HEAD") else "push"
        entry["resource"] = "upload" if rest.startswith("uploads/") else kind
        user = self.tokens.allows(headers.get("Authorization") or "", repository, action)
        if user is None:
            scope = f',scope="repository:{repository}:{"pull" if action == "pull" else "pull,push"}"' if repository else ""
            raise RegistryError(401, "UNAUTHORIZED", "authentication required",
                                {"WWW-Authenticate": f'Bearer realm="{realm}",service="{SERVICE}"{scope}'})
        entry["user"] = user
        if kind == "ping":
            return 200, b"{}", "application/json", {}
        if kind == "tags":
            return self._tags(repository, query)
        if kind == "manifests":
            return self._manifest(method, repository, rest, body)
        if rest.startswith("uploads/"):
            return self._upload(method, repository, rest[len("uploads/"):], query, body)
        return self._blob(method, rest)

    def _tags(self, repository, query):
        with self.store.lock:
            entry = self.store.repositories.get(repository)
            if entry is None:
                raise RegistryError(404, "NAME_UNKNOWN", f"repository {repository} is not known to the registry")
            tags = sorted(entry["tags"])
        last = query.get("last", [""])[0]
        tags = [tag for tag in tags if tag > last] if last else tags
        headers = {}
        if query.get("n"):
            limit = int(query["n"][0])
            if len(tags) > limit:
                headers["Link"] = f'</v2/{repository}/tags/list?n={limit}&last={tags[limit - 1]}>; rel="next"'
            tags = tags[:limit]
        return 200, json.dumps({"name": repository, "tags": tags}).encode(), "application/json", headers

    def _manifest(self, method, repository, reference, body):
        if method in ("GET", "HEAD"):
            found = self.store.manifest(repository, reference)
            if found is None:
                raise RegistryError(404, "MANIFEST_UNKNOWN", f"manifest {repository}:{reference} unknown")
            digest, data = found
            media_type = json.loads(data).get("mediaType") or OCI_MANIFEST_TYPE
            return 200, data, media_type, {"Docker-Content-Digest": digest}
        if method != "PUT":
            raise RegistryError(405, "UNSUPPORTED", f"{method} of a manifest is not supported")
        try:
            manifest = json.loads(body)
            referenced = [manifest["config"]] + list(manifest["layers"])
        except (ValueError, KeyError, TypeError) as error:
            raise RegistryError(400, "MANIFEST_INVALID", f"manifest invalid: {error}") from error
        if DIGEST.match(reference) and digest_of(body) != reference:
            raise RegistryError(400, "DIGEST_INVALID", "the manifest does not match the digest it was put under")
        with self.store.lock:
            missing = [item["digest"] for item in referenced if item.get("digest") not in self.store.blobs]
        if missing:
            raise RegistryError(400, "MANIFEST_BLOB_UNKNOWN", f"blob unknown to registry: {missing[0]}")
        digest = self.store.put_manifest(repository, reference, body)
        return 201, b"", None, {"Location": f"/v2/{repository}/manifests/{digest}", "Docker-Content-Digest": digest}

    def _blob(self, method, digest):
        if method not in ("GET", "HEAD"):
            raise RegistryError(405, "UNSUPPORTED", f"{method} of a blob is not supported")
        with self.store.lock:
            data = self.store.blobs.get(digest)
        if data is None:
            raise RegistryError(404, "BLOB_UNKNOWN", f"blob {digest} unknown to registry")
        return 200, data, "application/octet-stream", {"Docker-Content-Digest": digest}

    def _upload(self, method, repository, upload, query, body):
        store = self.store
        if method == "POST" and not upload.strip("/"):
            mounted = query.get("mount", [None])[0]
            with store.lock:
                if mounted and mounted in store.blobs:
                    return self._created(repository, mounted)
            if query.get("digest"):
                return self._finish(repository, bytearray(body), query["digest"][0])
            upload_id = str(uuid.uuid4())
            with store.lock:
                store.uploads[upload_id] = bytearray()
            return 202, b"", None, self._upload_headers(repository, upload_id, 0)
        with store.lock:
            data = store.uploads.get(upload)
            if data is None:
                raise RegistryError(404, "BLOB_UPLOAD_UNKNOWN", f"upload {upload} unknown")
            data += body
        if method == "PATCH":
            return 202, b"", None, self._upload_headers(repository, upload, len(data))
        if method != "PUT":
            raise RegistryError(405, "UNSUPPORTED", f"{method} of an upload is not supported")
        with store.lock:
            del store.uploads[upload]
        return self._finish(repository, data, query.get("digest", [""])[0])

    def _finish(self, repository, data, digest):
        if digest_of(bytes(data)) != digest:
            raise RegistryError(400, "DIGEST_INVALID", f"provided digest {digest} does not match the uploaded content")
        self.store.put_blob(bytes(data))
        return self._created(repository, digest)

    @staticmethod
    def _created(repository, digest):
        return 201, b"", None, {"Location": f"/v2/{repository}/blobs/{digest}", "Docker-Content-Digest": digest}

    @staticmethod
    def _upload_headers(repository, upload_id, size):
        return {"Location": f"/v2/{repository}/blobs/uploads/{upload_id}", "Docker-Upload-UUID": upload_id,
                "Range": f"0-{max(size - 1, 0)}"}
