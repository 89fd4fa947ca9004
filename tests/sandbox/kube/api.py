"""Resource request handling: routing of /api and /apis paths, CRUD semantics, patches, watches."""

import copy
import json
import random
import re
import time
import uuid

import yaml

from tests.sandbox.kube import admission, errors, protobuf, tables, validation
from tests.sandbox.kube.apply import now, record_update, server_side_apply
from tests.sandbox.kube.errors import ApiError
from tests.sandbox.kube.patch import json_patch, merge_patch, strategic_merge
from tests.sandbox.kube.selectors import parse_fields, parse_labels

PROTECTED_NAMESPACES = ("default", "kube-system", "kube-public")
_RESOURCE_PATH = re.compile(r"^/(?:api/(?P<core>v1)|apis/(?P<group>[^/]+)/(?P<version>[^/]+))(?:/(?P<rest>.*))?$")
_NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789"
PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json",
               "application/apply-patch+yaml")
WATCH_DEFAULT_TIMEOUT = 1800
BOOKMARK_INTERVAL = 5.0


def random_suffix(length=5):
    return "".join(random.choices(_NAME_CHARS, k=length))


class Response:
    """What the HTTP layer sends: a body, or a stream of chunks for watches."""

    def __init__(self, status=200, body=None, content_type="application/json", stream=None, headers=None):
        self.status, self.content_type, self.stream = status, content_type, stream
        self.headers = headers or {}
        if isinstance(body, (dict, list)):
            body = json.dumps(body, separators=(",", ":")).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.body = body or b""


class Target:
    """A parsed resource URL."""

    def __init__(self, res, namespace, name, sub, watch_path):
        self.res, self.namespace, self.name, self.sub, self.watch_path = res, namespace, name, sub, watch_path

    def verb(self, method, query):
        if method == "GET":
            if self.name is None:
                return "watch" if self.watch_path or query.get("watch") in ("1", "true", "True") else "list"
            return "get"
        if method == "POST":
            return "create"
        if method == "PUT":
            return "update"
        if method == "PATCH":
            return "patch"
        if method == "DELETE":
            return "delete" if self.name is not None else "deletecollection"
        return method.lower()


class Api:
    """The resource API. Writes from clients and from the controllers go through the same store."""

    def __init__(self, store, registry, config):
        self.store, self.registry, self.config = store, registry, config
        self.validator = validation.Validator(registry.api)
        self.write_lock = store.lock
        self.on_change = []  # callbacks(event, resource_key, obj) for controllers that must react at once

    # --- routing
    def parse(self, path):
        """Return a Target for a resource path, None when the path is not a resource path; raise 404 when unknown."""
        match = _RESOURCE_PATH.match(path)
        if not match or not match.group("rest"):
            return None
        group = match.group("group") or ""
        version = match.group("core") or match.group("version")
        parts = [part for part in match.group("rest").split("/") if part]
        watch_path = False
        if parts and parts[0] == "watch":
            watch_path, parts = True, parts[1:]
        if not parts:
            raise errors.unknown_resource()
        namespace = None
        if parts[0] == "namespaces" and len(parts) >= 3:
            candidate = self.registry.get(group, version, parts[2])
            if candidate is not None and candidate.namespaced:
                namespace, parts = parts[1], parts[2:]
        res = self.registry.get(group, version, parts[0])
        if res is None or len(parts) > 3:
            raise errors.unknown_resource()
        if namespace is None and res.namespaced and len(parts) > 1:
            raise errors.unknown_resource()
        name = parts[1] if len(parts) > 1 else None
        sub = parts[2] if len(parts) > 2 else None
        if sub is not None and sub not in res.subresources:
            raise errors.unknown_resource()
        return Target(res, namespace, name, sub, watch_path)

    def handle(self, target, method, query, headers, body):
        verb = target.verb(method, query)
        res = target.res
        if target.sub is None and verb not in res.verbs:
            raise errors.method_not_allowed()
        if verb in ("get", "list", "watch"):
            if verb == "watch":
                return self.watch(target, query, headers)
            if verb == "list":
                return self.list(target, query, headers)
            return self.get(target, query, headers)
        with self.write_lock:
            if verb == "create":
                return self.create(target, query, headers, body)
            if verb == "update":
                return self.update(target, query, headers, body)
            if verb == "patch":
                return self.patch(target, query, headers, body)
            if verb == "delete":
                return self.delete(target, query, headers, body)
            if verb == "deletecollection":
                return self.delete_collection(target, query, headers, body)
        raise errors.method_not_allowed()

    # --- helpers
    @staticmethod
    def present(res, obj):
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        return obj

    @staticmethod
    def _load(body, content_type="application/json"):
        if not body:
            raise errors.bad_request("the request body is empty")
        try:
            if (content_type or "").startswith(protobuf.PROTOBUF):
                return protobuf.decode(body)
            if "yaml" in (content_type or ""):
                return yaml.safe_load(body)
            return json.loads(body)
        except protobuf.UnsupportedKind as error:
            raise errors.unsupported_media_type(["application/json", "application/yaml"]) from error
        except (ValueError, yaml.YAMLError, IndexError) as error:
            raise errors.bad_request(f"couldn't decode the request body: {error}") from error

    @staticmethod
    def _dry_run(query):
        value = query.get("dryRun")
        if value and value != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
        return value == "All"

    @staticmethod
    def manager(query, headers, default_operation="update"):
        manager = query.get("fieldManager")
        if manager:
            return manager
        agent = headers.get("User-Agent") or "unknown"
        # kube names an unspecified manager after the client's user agent
        base = agent.split("/", 1)[0]
        if default_operation == "create" and base == "kubectl":
            return "kubectl-create"
        return base

    def check_namespace(self, target):
        if not target.res.namespaced:
            return
        namespace = self.store.get(("", "namespaces"), "", target.namespace)
        if namespace is None:
            raise errors.namespace_not_found(target.namespace)
        if namespace["metadata"].get("deletionTimestamp"):
            raise errors.forbidden(target.res, "", f"{target.res.plural} is forbidden: unable to create new content in namespace "
                                   f"{target.namespace} because it is being terminated")

    def _refuse_undecodable(self, res, body, raw):
        """A create or update body with a value the kind's Go type cannot hold is refused before anything else."""
        message = self.validator.undecodable(res, body)
        if message:
            raise errors.undecodable(res, body, raw, message)

    def _refuse_unpatchable(self, res, patch, patched, content_type):
        """A patch whose result does not decode: the API server quotes the strategic patch (Go's %+v), or the patched JSON."""
        message = self.validator.undecodable(res, patched)
        if message:
            value = validation.go_value(patch) if content_type == PATCH_TYPES[2] else json.dumps(patched, sort_keys=True, separators=(",", ":"))
            raise errors.invalid("", "", "", [validation.invalid("patch", value, message)])

    def _refuse_unconvertible(self, res, target, obj):
        """Server-side apply converts the merged object to the Go type only after merging: its failure is a 500."""
        message = self.validator.undecodable(res, obj)
        if message:
            raise errors.unconvertible(res, target.namespace, target.name, message)

    def _refuse_invalid(self, res, obj, creating=False):
        found = self.validator.validate(res, obj, creating)
        if found:
            raise errors.invalid(res.kind, res.group, obj["metadata"].get("name") or "", found)

    @staticmethod
    def _refuse_bad_scale(target, replicas):
        found = validation.scale_errors(replicas)
        if found:
            raise errors.invalid("Scale", "autoscaling", target.name, found)

    def _used_ips(self):
        return {(svc.get("spec") or {}).get("clusterIP") for svc in self.store.list(("", "services"))[0]}

    def _node(self, res):
        return self.registry.schema(res)

    # --- reads
    def get(self, target, query, headers):
        res = target.res
        obj = self.store.get(res.key, target.namespace, target.name)
        if obj is None:
            raise errors.not_found(res, target.name)
        if target.sub == "log":
            return self.pod_log(obj, query)
        if target.sub == "scale":
            return Response(200, self.scale_of(obj))
        self.present(res, obj)
        if tables.wants_table(headers.get("Accept")):
            return Response(200, tables.table(res.plural, [obj], obj["metadata"]["resourceVersion"], query.get("includeObject")),
                            content_type="application/json;as=Table;v=v1;g=meta.k8s.io")
        return Response(200, obj)

    def pod_log(self, pod, _query):
        labels = pod["metadata"].get("labels") or {}
        job = labels.get("batch.kubernetes.io/job-name") or labels.get("job-name")
        text = ""
        if job:
            logs = self.config.get("job_logs") or {}
            text = logs.get(job, f"job {job} completed\n")
            if text and not text.endswith("\n"):
                text += "\n"
        return Response(200, text, content_type="text/plain")

    @staticmethod
    def scale_of(obj):
        selector = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
        return {"kind": "Scale", "apiVersion": "autoscaling/v1",
                "metadata": {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
                             if k in obj["metadata"]},
                "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 1)},
                "status": {"replicas": (obj.get("status") or {}).get("replicas", 0),
                           "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))}}

    def _filters(self, query):
        labels = parse_labels(query.get("labelSelector"))
        fields = parse_fields(query.get("fieldSelector"))
        return lambda obj: labels((obj.get("metadata") or {}).get("labels")) and fields(obj)

    def list(self, target, query, headers):
        res = target.res
        matches = self._filters(query)
        items, rv = self.store.list(res.key, target.namespace)
        items = [self.present(res, obj) for obj in items if matches(obj)]
        if tables.wants_table(headers.get("Accept")):
            return Response(200, tables.table(res.plural, items, rv, query.get("includeObject")),
                            content_type="application/json;as=Table;v=v1;g=meta.k8s.io")
        return Response(200, {"kind": res.list_kind, "apiVersion": res.api_version, "metadata": {"resourceVersion": rv}, "items": items})

    # --- watch
    def watch(self, target, query, headers):
        res = target.res
        matches = self._filters(query)
        if target.name is not None:  # old-style /watch/.../name
            matches = _named(target.name, matches)
        timeout = float(query.get("timeoutSeconds") or WATCH_DEFAULT_TIMEOUT)
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        send_initial = query.get("sendInitialEvents") in ("true", "1")
        as_table = tables.wants_table(headers.get("Accept"))
        start = query.get("resourceVersion") or ""
        with self.store.lock:
            current_rv = self.store.rv
            initial = []
            if send_initial or start in ("", "0"):
                initial = self.store.list(res.key, target.namespace)[0]
                initial = [obj for obj in initial if matches(obj)]
                since = current_rv
            else:
                try:
                    since = int(start)
                except ValueError as error:
                    raise errors.bad_request(f"invalid resource version: {start}") from error
        return Response(200, content_type="application/json", stream=self._watch_stream(
            target, matches, initial, since, timeout, bookmarks, send_initial, as_table, query.get("includeObject")))

    def _event(self, res, event, obj, as_table, include_object):
        obj = self.present(res, copy.deepcopy(obj))
        if as_table:
            obj = tables.table(res.plural, [obj], obj["metadata"]["resourceVersion"], include_object)
        return json.dumps({"type": event, "object": obj}, separators=(",", ":")).encode() + b"\n"

    def _bookmark(self, res, rv, initial_end=False):
        meta = {"resourceVersion": str(rv)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return json.dumps({"type": "BOOKMARK", "object": {"kind": res.kind, "apiVersion": res.api_version, "metadata": meta}},
                          separators=(",", ":")).encode() + b"\n"

    def _watch_stream(self, target, matches, initial, since, timeout, bookmarks, send_initial, as_table, include_object):
        res = target.res
        deadline = time.monotonic() + timeout
        for obj in initial:
            yield self._event(res, "ADDED", obj, as_table, include_object)
        if send_initial and bookmarks:
            yield self._bookmark(res, since, initial_end=True)
        last, last_bookmark = since, time.monotonic()
        while not self.store.closing:
            with self.store.lock:
                events = self.store.events_after(last)
                if events is not None and not events:
                    self.store.changed.wait(timeout=min(1.0, max(deadline - time.monotonic(), 0.01)))
                    events = self.store.events_after(last)
            if events is None:
                gone = ApiError(410, "Expired", f"too old resource version: {last} ({self.store.oldest_rv})")
                yield json.dumps({"type": "ERROR", "object": gone.body()}).encode() + b"\n"
                return
            for rv, key, event, obj, previous in events:
                last = rv
                if key != res.key:
                    continue
                if target.namespace is not None and obj["metadata"].get("namespace") != target.namespace:
                    continue
                event = _selected_event(event, matches(obj), previous is not None and matches(previous))
                if event:
                    yield self._event(res, event, obj, as_table, include_object)
            if time.monotonic() >= deadline:
                return
            if bookmarks and time.monotonic() - last_bookmark > BOOKMARK_INTERVAL:
                last_bookmark = time.monotonic()
                yield self._bookmark(res, last)
            elif not events:
                yield b""  # lets the HTTP layer notice a client that went away

    # --- creates
    def _review(self, res, body):
        body = dict(body or {})
        body.setdefault("metadata", {})
        body["metadata"].setdefault("creationTimestamp", None)
        user = {"username": "sandbox-admin", "groups": ["system:masters", "system:authenticated"]}
        if res.kind.endswith("AccessReview"):
            body["status"] = {"allowed": True, "reason": "sandbox allows everything"}
        elif res.kind == "SelfSubjectRulesReview":
            body["status"] = {"resourceRules": [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                              "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}], "incomplete": False}
        elif res.kind == "TokenReview":
            body["status"] = {"authenticated": True, "user": user, "audiences": (body.get("spec") or {}).get("audiences", [])}
        elif res.kind == "SelfSubjectReview":
            body["status"] = {"userInfo": user}
        return Response(201, self.present(res, body))

    def _subresource_create(self, target, body):
        if target.sub == "eviction":
            self.delete(Target(target.res, target.namespace, target.name, None, False), {}, {}, b"")
            return Response(201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201})
        return Response(201, body)

    def create(self, target, query, headers, raw):
        res = target.res
        if res.creatable_only:  # reviews: the answer does not depend on a body we may not decode (protobuf)
            try:
                body = self._load(raw, headers.get("Content-Type"))
            except ApiError:
                body = {}
            return self._review(res, body)
        body = self._load(raw, headers.get("Content-Type"))
        if target.sub:
            return self._subresource_create(target, body)
        if target.name is not None:
            raise errors.method_not_allowed()
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be an object")
        self._refuse_undecodable(res, body, raw)
        dry = self._dry_run(query)
        meta = body.get("metadata")
        if not isinstance(meta, dict):
            meta = body["metadata"] = {}
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != target.namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = target.namespace
        else:
            meta.pop("namespace", None)
        if not meta.get("name"):
            meta["name"] = validation.generated_name(meta["generateName"], random_suffix()) if meta.get("generateName") else ""
        self.check_namespace(target)
        obj = self.new_object(res, body)
        self._refuse_invalid(res, obj, creating=True)
        if self.store.exists(res.key, target.namespace, meta["name"]):
            raise errors.already_exists(res, meta["name"])
        record_update(None, obj, self.manager(query, headers, "create"), self._node(res), res.api_version)
        return Response(201, self.commit(res, None, obj, dry))

    def new_object(self, res, body):
        """Server-set metadata and defaults for an object about to be created."""
        obj = copy.deepcopy(body)
        self.present(res, obj)
        meta = obj["metadata"]
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        meta["generation"] = 1
        if res.has_status:
            if res.crd is not None:
                obj.pop("status", None)
            else:
                obj["status"] = self._zero_status(res)
        admission.default(res.key, obj, None, self._used_ips() if res.key == ("", "services") else set())
        if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self._crd_status(obj)
        return obj

    def _zero_status(self, res):
        """A fresh status: the fields Go serialises even when zero (the schema's required ones)."""
        node = self._node(res)
        if node is None:
            return {}
        schema = node.field("status").schema
        zero = {"integer": 0, "string": "", "boolean": False, "array": [], "object": {}}
        status = {}
        for name in schema.get("required") or []:
            prop = node.field("status").field(name).schema
            status[name] = copy.deepcopy(zero.get(prop.get("type"), {}))
        return status

    @staticmethod
    def _crd_status(crd):
        spec = crd.get("spec") or {}
        stamp = now()
        names = dict(spec.get("names") or {})
        names.setdefault("singular", (names.get("kind") or "").lower())
        names.setdefault("listKind", (names.get("kind") or "") + "List")
        storage = [v["name"] for v in spec.get("versions", []) if v.get("storage")]
        crd["status"] = {
            "acceptedNames": names,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "lastTransitionTime": stamp, "reason": "NoConflicts",
                 "message": "no conflicts found"},
                {"type": "Established", "status": "True", "lastTransitionTime": stamp, "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted"}],
            "storedVersions": sorted(set(((crd.get("status") or {}).get("storedVersions") or []) + storage)),
        }

    def commit(self, res, old, new, dry=False):
        """Store a create/update (unless dry run) and run the side effects; returns the stored object."""
        if old is not None:
            meta, old_meta = new["metadata"], old["metadata"]
            for key in ("uid", "creationTimestamp", "name", "namespace", "deletionTimestamp", "deletionGracePeriodSeconds"):
                if key in old_meta:
                    meta[key] = old_meta[key]
                else:
                    meta.pop(key, None)
            meta["generation"] = old_meta.get("generation", 1)
            if _spec_changed(old, new):
                meta["generation"] += 1
            if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
                self._crd_status(new)
            if _same(old, new):
                return self.present(res, old)
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"] if old else ""
        if dry:
            return self.present(res, new)
        if old is not None and new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers") \
                and res.key != ("", "namespaces"):
            return self.present(res, self.remove(res, new))
        stored = self.store.put(res.key, new, "ADDED" if old is None else "MODIFIED")
        if res.key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            self.registry.add_crd(stored)
        return self.present(res, stored)

    def remove(self, res, obj):
        """Remove an object for good, with what follows from it (a CRD takes its objects along)."""
        meta = obj["metadata"]
        removed = self.store.remove(res.key, meta.get("namespace"), meta["name"])
        if res.key == ("apiextensions.k8s.io", "customresourcedefinitions") and removed is not None:
            spec = removed.get("spec") or {}
            key = (spec.get("group", ""), (spec.get("names") or {}).get("plural", ""))
            self.registry.remove_crd(meta["name"])
            items = self.store.list(key)[0]
            for item in items:
                self.store.remove(key, item["metadata"].get("namespace"), item["metadata"]["name"])
        return removed if removed is not None else obj

    # --- updates
    def _live(self, target):
        live = self.store.get(target.res.key, target.namespace, target.name)
        if live is None:
            raise errors.not_found(target.res, target.name)
        return live

    def update(self, target, query, headers, raw):
        res = target.res
        body = self._load(raw, headers.get("Content-Type"))
        if not isinstance(body, dict):
            raise errors.bad_request("the request body must be an object")
        if target.sub is None:
            self._refuse_undecodable(res, body, raw)
        dry = self._dry_run(query)
        meta = body.setdefault("metadata", {})
        if target.sub not in ("scale",):
            if meta.get("name") and meta["name"] != target.name:
                raise errors.bad_request("the name of the object does not match the name on the URL")
            meta["name"] = target.name
            if res.namespaced:
                meta["namespace"] = target.namespace
        live = self._live(target)
        wanted_rv = meta.get("resourceVersion")
        if wanted_rv and wanted_rv != live["metadata"]["resourceVersion"]:
            raise errors.conflict(res, target.name)
        if target.sub == "scale":
            new = copy.deepcopy(live)
            new.setdefault("spec", {})["replicas"] = (body.get("spec") or {}).get("replicas", 0)
            self._refuse_bad_scale(target, new["spec"]["replicas"])
            record_update(live, new, self.manager(query, headers), self._node(res), res.api_version, "scale")
            self.commit(res, live, new, dry)
            return Response(200, self.scale_of(self._live(target) if not dry else new))
        new = self._merge_subresource(res, target.sub, live, body)
        self.present(res, new)
        admission.default(res.key, new, live, self._used_ips() if res.key == ("", "services") else set())
        if target.sub is None:
            self._refuse_invalid(res, new)
        record_update(live, new, self.manager(query, headers), self._node(res), res.api_version, target.sub)
        return Response(200, self.commit(res, live, new, dry))

    @staticmethod
    def _merge_subresource(res, sub, live, new):
        """Status writes change only status; main writes keep status when a status subresource exists."""
        if sub == "status":
            merged = copy.deepcopy(live)
            merged["status"] = copy.deepcopy(new.get("status"))
            if merged["status"] is None:
                merged.pop("status")
            return merged
        if res.has_status:
            new = copy.deepcopy(new)
            if "status" in live:
                new["status"] = copy.deepcopy(live["status"])
            else:
                new.pop("status", None)
        if res.key == ("", "namespaces") and sub != "finalize":  # spec.finalizers only change through /finalize
            new["spec"] = copy.deepcopy(live.get("spec"))
        return new

    def patch(self, target, query, headers, raw):
        res = target.res
        content_type = (headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type not in PATCH_TYPES or (res.crd is not None and content_type == PATCH_TYPES[2]):
            accepted = [t for t in PATCH_TYPES if not (res.crd is not None and t == PATCH_TYPES[2])]
            raise errors.unsupported_media_type(accepted)
        dry = self._dry_run(query)
        patch = self._load(raw, content_type)
        if content_type == PATCH_TYPES[3]:
            return self._apply(target, query, headers, patch, dry)
        live = self._live(target)
        if target.sub == "scale":
            scale = self._patched(self.scale_of(live), patch, content_type, None)
            new = copy.deepcopy(live)
            new.setdefault("spec", {})["replicas"] = (scale.get("spec") or {}).get("replicas", 0)
            self._refuse_bad_scale(target, new["spec"]["replicas"])
            self.commit(res, live, new, dry)
            return Response(200, self.scale_of(new))
        node = self._node(res)
        patched = self._patched(self.present(res, copy.deepcopy(live)), patch, content_type, node)
        if not isinstance(patched, dict):
            raise errors.bad_request("the patch must produce an object")
        wanted_rv = (patched.get("metadata") or {}).get("resourceVersion")
        if wanted_rv and wanted_rv != live["metadata"]["resourceVersion"]:
            raise errors.conflict(res, target.name)
        patched.setdefault("metadata", {})
        if target.sub is None:
            self._refuse_unpatchable(res, patch, patched, content_type)
        new = self._merge_subresource(res, target.sub, live, patched)
        self.present(res, new)
        admission.default(res.key, new, live, self._used_ips() if res.key == ("", "services") else set())
        if target.sub is None:
            self._refuse_invalid(res, new)
        record_update(live, new, self.manager(query, headers), node, res.api_version, target.sub)
        return Response(200, self.commit(res, live, new, dry))

    @staticmethod
    def _patched(obj, patch, content_type, node):
        if content_type == PATCH_TYPES[0]:
            return json_patch(obj, patch)
        if content_type == PATCH_TYPES[1]:
            return merge_patch(obj, patch)
        return strategic_merge(obj, patch, node)

    def _apply(self, target, query, headers, applied, dry):
        res = target.res
        manager = query.get("fieldManager")
        if not manager:
            raise ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                           {"kind": "PatchOptions", "group": "meta.k8s.io", "causes": [
                               {"reason": "FieldValueRequired", "message": "Required value: is required for apply patch",
                                "field": "fieldManager"}]})
        if not isinstance(applied, dict):
            raise errors.bad_request("the apply configuration must be an object")
        force = query.get("force") in ("true", "1")
        meta = applied.setdefault("metadata", {}) or {}
        applied["metadata"] = meta
        if meta.get("name") and meta["name"] != target.name:
            raise errors.bad_request("the name of the object does not match the name on the URL")
        meta["name"] = target.name
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != target.namespace:
                raise errors.bad_request("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = target.namespace
        for key in ("resourceVersion", "uid", "managedFields", "creationTimestamp", "generation"):
            meta.pop(key, None)
        if res.has_status and target.sub != "status":
            applied.pop("status", None)
        applied["apiVersion"], applied["kind"] = applied.get("apiVersion") or res.api_version, applied.get("kind") or res.kind
        node = self._node(res)
        live = self.store.get(res.key, target.namespace, target.name)
        if live is None:
            if target.sub:
                raise errors.not_found(res, target.name)
            self.check_namespace(target)
            obj = server_side_apply(None, applied, manager, force, node, res.api_version)
            self._refuse_unconvertible(res, target, obj)
            managed = obj["metadata"].pop("managedFields")
            obj = self.new_object(res, obj)
            self._refuse_invalid(res, obj, creating=True)
            obj["metadata"]["managedFields"] = managed
            return Response(201, self.commit(res, None, obj, dry))
        new = server_side_apply(self.present(res, live), applied, manager, force, node, res.api_version, target.sub)
        if target.sub == "status":
            new = self._merge_subresource(res, "status", live, new)
        else:
            self._refuse_unconvertible(res, target, new)
            if res.has_status:
                new["status"] = copy.deepcopy(live.get("status"))
                if new["status"] is None:
                    new.pop("status")
        admission.default(res.key, new, live, self._used_ips() if res.key == ("", "services") else set())
        if target.sub is None:
            self._refuse_invalid(res, new)
        return Response(200, self.commit(res, live, new, dry))

    # --- deletes
    def _delete_options(self, query, headers, raw):
        options = self._load(raw, headers.get("Content-Type")) if raw else {}
        if not isinstance(options, dict):
            raise errors.bad_request("DeleteOptions must be an object")
        for key in ("propagationPolicy", "gracePeriodSeconds"):
            if query.get(key) and key not in options:
                options[key] = query[key]
        if query.get("dryRun"):
            options["dryRun"] = [query["dryRun"]]
        return options

    def delete(self, target, query, headers, raw):
        res = target.res
        options = self._delete_options(query, headers, raw)
        dry = "All" in (options.get("dryRun") or [])
        live = self._live(target)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != live["metadata"]["uid"] or \
                pre.get("resourceVersion") and pre["resourceVersion"] != live["metadata"]["resourceVersion"]:
            raise errors.conflict(res, target.name)
        self.present(res, live)
        if dry:
            return Response(200, live)
        if res.key == ("", "namespaces"):
            if target.name in PROTECTED_NAMESPACES:
                raise errors.forbidden(res, target.name, f'namespaces "{target.name}" is forbidden: this namespace may not be deleted')
            if not live["metadata"].get("deletionTimestamp"):
                live["metadata"]["deletionTimestamp"] = now()
                live["metadata"]["deletionGracePeriodSeconds"] = 0
                live["status"] = {"phase": "Terminating"}
                live = self.present(res, self.store.put(res.key, live, "MODIFIED"))
            return Response(200, live)
        if options.get("propagationPolicy") == "Orphan":
            self.orphan_dependents(live["metadata"]["uid"])
        if live["metadata"].get("finalizers"):
            if not live["metadata"].get("deletionTimestamp"):
                live["metadata"]["deletionTimestamp"] = now()
                live["metadata"]["deletionGracePeriodSeconds"] = 0
                live = self.present(res, self.store.put(res.key, live, "MODIFIED"))
            return Response(200, live)
        removed = self.present(res, self.remove(res, live))
        if res.crd is not None or res.key == ("", "pods"):
            return Response(200, removed)
        details = {"name": target.name, "kind": res.plural, "uid": live["metadata"]["uid"]}
        if res.group:
            details["group"] = res.group
        return Response(200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})

    def delete_collection(self, target, query, headers, raw):
        res = target.res
        matches = self._filters(query)
        items, rv = self.store.list(res.key, target.namespace)
        deleted = []
        for obj in items:
            if matches(obj):
                one = Target(res, obj["metadata"].get("namespace"), obj["metadata"]["name"], None, False)
                self.delete(one, query, headers, raw)
                deleted.append(self.present(res, obj))
        return Response(200, {"kind": res.list_kind, "apiVersion": res.api_version, "metadata": {"resourceVersion": rv}, "items": deleted})

    def orphan_dependents(self, uid):
        for key in self.store.keys():
            items = self.store.list(key)[0]
            for obj in items:
                refs = obj["metadata"].get("ownerReferences") or []
                kept = [ref for ref in refs if ref.get("uid") != uid]
                if len(kept) != len(refs):
                    obj["metadata"]["ownerReferences"] = kept
                    if not kept:
                        obj["metadata"].pop("ownerReferences")
                    self.store.put(key, obj, "MODIFIED")


def _selected_event(event, now, before):
    """What a selective watch reports: an object entering its selector is ADDED, leaving it DELETED."""
    if event != "MODIFIED":
        return event if now else None
    if now and before:
        return "MODIFIED"
    if now:
        return "ADDED"
    return "DELETED" if before else None


def _named(name, matches):
    return lambda obj: obj["metadata"]["name"] == name and matches(obj)


def _content(obj):
    return {key: value for key, value in obj.items() if key not in ("metadata", "status", "apiVersion", "kind")}


def _spec_changed(old, new):
    return _content(old) != _content(new)


def _same(old, new):
    """No-op writes keep the resourceVersion, as on a real API server."""
    def strip(obj):
        meta = {k: v for k, v in obj.get("metadata", {}).items() if k not in ("resourceVersion", "managedFields")}
        return dict(obj, metadata=meta, apiVersion=None, kind=None)
    return strip(old) == strip(new) and _managers(old) == _managers(new)


def _managers(obj):
    return sorted((e.get("manager"), e.get("operation"), e.get("subresource") or "", json.dumps(e.get("fieldsV1"), sort_keys=True))
                  for e in obj.get("metadata", {}).get("managedFields") or [])
