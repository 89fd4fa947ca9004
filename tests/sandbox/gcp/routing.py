"""Routes of the emulated APIs and the per-request context handlers receive."""

import base64
import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from tests.sandbox.gcp.errors import invalid


@dataclass
class Route:
    """One REST method. `pattern` matches the path after the API prefix (e.g. v1/projects/p/...)."""

    method: str
    pattern: str
    handler: Callable
    body: Optional[str] = None  # discovery schema of the request body, validated before the handler runs
    at: str = ""  # proto field the body is bound to, named in validation errors ('' for body "*")
    permission: str = ""  # IAM permission named when the project does not exist
    collection: str = ""  # request-log resource name
    regex: re.Pattern = field(init=False)

    def __post_init__(self):
        self.regex = re.compile(self.pattern)


@dataclass
class Call:
    """What a handler gets: the store (lock held), path parameters, query, parsed body, project record."""

    store: object
    params: dict
    query: dict
    body: dict
    project: Optional[dict]
    caller: str
    base_url: str

    @property
    def data(self):
        return self.store.data

    def arg(self, name, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def int_arg(self, name, default, maximum):
        raw = self.arg(name)
        if raw in (None, ""):
            return default
        try:
            value = int(raw)
        except ValueError as error:
            raise invalid(f"Invalid value for {name}: {raw}", name) from error
        if value < 0:
            raise invalid(f"{name} must be non-negative", name)
        return min(value or default, maximum)


def paginate(call, items, default_size, max_size):
    """Google-style pages over items sorted by name; the token encodes the last name served, so a page
    resumes after it even when that item was deleted in between."""
    size = call.int_arg("pageSize", default_size, max_size)
    token = call.arg("pageToken") or ""
    start = 0
    if token:
        try:
            last = base64.urlsafe_b64decode(token.encode()).decode()
        except (ValueError, UnicodeDecodeError) as error:
            raise invalid("Invalid page token.", "page_token") from error
        start = next((index for index, item in enumerate(items) if item["name"] > last), len(items))
    page = items[start:start + size]
    next_token = base64.urlsafe_b64encode(page[-1]["name"].encode()).decode() if start + size < len(items) and page else None
    return page, next_token
