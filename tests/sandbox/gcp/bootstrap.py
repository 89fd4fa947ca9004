"""First start: the sandbox admin service account, owner of the default project, and its key file."""

import json
import os
from pathlib import Path

from tests.sandbox.gcp import auth, iam, policy


def ensure_admin(store, token_uri):
    """Create the admin account and key unless the state has them; returns the key file document."""
    with store.lock:
        config = store.config
        project = store.project(config["default_project"])
        if project is None:
            raise SystemExit(f"default_project {config['default_project']!r} is not among the configured projects")
        email = iam.email_for(config["admin_account_id"], project["projectId"])
        bootstrap = store.data.get("bootstrap")
        account = store.data["serviceAccounts"].get(email)
        if account is None:
            account = iam.create_account(store, project, config["admin_account_id"], "Sandbox admin",
                                         "Made by the sandbox on first start; its key is the sandbox's admin credential.")
            member = f"serviceAccount:{email}"
            bindings = project["iamPolicy"].setdefault("bindings", [])
            owners = next((item for item in bindings if item["role"] == "roles/owner"), None)
            if owners is None:
                bindings.append({"role": "roles/owner", "members": [member]})
            elif member not in owners["members"]:
                owners["members"].append(member)
            project["iamPolicy"]["etag"] = policy.new_etag()
        if not bootstrap or bootstrap["email"] != email or bootstrap["keyId"] not in store.data["keys"]:
            document = iam.create_key(store, account, token_uri, bootstrap=True)[2]
        else:
            document = auth.key_file(account, bootstrap["keyId"], bootstrap["privateKeyPem"], token_uri)
        store.mark_dirty()
        return document


def write_key_file(path, document):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2)
    os.chmod(path, 0o600)
