"""What the AWS integration tests share: the write requests moto received, read from the sandbox's request recording."""

import base64
import json
import urllib.parse

RECORDING = "state/aws/moto-recording.jsonl"
READ_PREFIXES = ("Get", "List", "Describe", "Head", "BatchGet", "Search", "Lookup")


def recorded(sandbox):
    """How many requests moto has recorded so far: writes(sandbox, since=recorded(sandbox)) counts from here."""
    with open(sandbox.dir / RECORDING, encoding="utf-8") as recording:
        return len(recording.readlines())


def writes(sandbox, since=0):
    """The write requests moto recorded after the first `since`, as 'METHOD path' or the API operation's name."""
    with open(sandbox.dir / RECORDING, encoding="utf-8") as recording:
        entries = [json.loads(line) for line in recording][since:]
    return [name for name, read in map(_operation, entries) if not read]


def _operation(entry):
    """(name, is a read) of one recorded request: JSON APIs name it in X-Amz-Target, query APIs in Action."""
    headers = {key.lower(): value for key, value in entry["headers"].items()}
    body = entry.get("body") or ""
    if body and entry.get("body_encoded"):
        body = base64.b64decode(body).decode("utf-8", "replace")
    path = urllib.parse.urlsplit(entry["url"]).path
    if path.startswith("/moto-api/"):
        return path, True
    target = headers.get("x-amz-target")
    action = urllib.parse.parse_qs(body).get("Action", [None])[0] if "Action=" in body else None
    operation = target.split(".")[-1] if target else action
    if operation:
        return operation, operation.startswith(READ_PREFIXES)
    return f"{entry['method']} {path}", entry["method"] in ("GET", "HEAD")
