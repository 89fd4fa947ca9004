"""Object storage: one lock, one global resourceVersion counter, an event history for watches,
and the debounced JSON snapshot the sandbox contract asks for."""

import bisect
import copy
import json
import os
import threading
import time
from pathlib import Path

HISTORY = 20000  # watch events kept; older resourceVersions get 410 Gone


class Store:
    """Objects keyed by (group, plural) then (namespace, name); namespace is "" when cluster-scoped."""

    def __init__(self, state_path=None):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.objects = {}
        self.rv = 0
        self.events = []  # (rv, (group, plural), type, object, previous object or None)
        self.event_rvs = []
        self.oldest_rv = 0  # watches from before this are expired
        self.state_path = Path(state_path) if state_path else None
        self._dirty = False
        self._closing = False
        self._save_lock = threading.Lock()  # the saver thread and shutdown must not interleave on the temp file
        self.listeners = []  # callables(type, key, obj) run under the lock; the controllers' wake-up

    # --- reads (return deep copies: callers mutate freely)
    def get(self, key, namespace, name):
        with self.lock:
            obj = self.objects.get(key, {}).get((namespace or "", name))
            return copy.deepcopy(obj) if obj is not None else None

    def list(self, key, namespace=None):
        with self.lock:
            items = self.objects.get(key, {})
            found = [copy.deepcopy(obj) for (ns, _name), obj in sorted(items.items()) if namespace is None or ns == namespace]
            return found, str(self.rv)

    def exists(self, key, namespace, name):
        with self.lock:
            return (namespace or "", name) in self.objects.get(key, {})

    def keys(self):
        with self.lock:
            return list(self.objects)

    def count(self, key, namespace=None):
        with self.lock:
            return sum(1 for ns, _name in self.objects.get(key, {}) if namespace is None or ns == namespace)

    # --- writes
    def next_rv(self):
        with self.lock:
            self.rv += 1
            return self.rv

    def put(self, key, obj, event):
        """Store obj (stamping a new resourceVersion) and emit event (ADDED/MODIFIED); returns a copy."""
        with self.lock:
            rv = self.next_rv()
            obj["metadata"]["resourceVersion"] = str(rv)
            meta = obj["metadata"]
            items = self.objects.setdefault(key, {})
            ident = (meta.get("namespace") or "", meta["name"])
            previous = items.get(ident)
            items[ident] = obj
            self._emit(rv, key, event, obj, previous)
            return copy.deepcopy(obj)

    def remove(self, key, namespace, name):
        """Delete and emit DELETED; returns the removed object or None."""
        with self.lock:
            obj = self.objects.get(key, {}).pop((namespace or "", name), None)
            if obj is None:
                return None
            rv = self.next_rv()
            obj["metadata"]["resourceVersion"] = str(rv)
            self._emit(rv, key, "DELETED", obj)
            return copy.deepcopy(obj)

    def _emit(self, rv, key, event, obj, previous=None):
        snapshot = copy.deepcopy(obj)
        # the previous labels and fields let a selective watch turn MODIFIED into ADDED/DELETED
        self.events.append((rv, key, event, snapshot, previous))
        self.event_rvs.append(rv)
        if len(self.events) > HISTORY:
            cut = len(self.events) - HISTORY
            self.oldest_rv = self.events[cut - 1][0]
            del self.events[:cut]
            del self.event_rvs[:cut]
        self._dirty = True
        for listener in self.listeners:
            listener(event, key, snapshot)
        self.changed.notify_all()

    def events_after(self, rv):
        """Events newer than rv; None when rv is older than the history (410 Gone)."""
        with self.lock:
            if rv < self.oldest_rv:
                return None
            start = bisect.bisect_right(self.event_rvs, rv)
            return self.events[start:]

    def drop_kind(self, key):
        with self.lock:
            return list(self.objects.pop(key, {}).values())

    # --- persistence
    def snapshot(self):
        with self.lock:
            return {"resourceVersion": self.rv,
                    "objects": [{"group": key[0], "resource": key[1], "object": obj}
                                for key, items in self.objects.items() for obj in items.values()]}

    def load(self):
        """Load the snapshot if any; returns True when one was found."""
        if not self.state_path or not self.state_path.exists():
            return False
        data = json.loads(self.state_path.read_text(encoding="utf-8") or "{}")
        with self.lock:
            self.rv = int(data.get("resourceVersion", 0))
            self.oldest_rv = self.rv
            for entry in data.get("objects", []):
                obj = entry["object"]
                meta = obj["metadata"]
                self.objects.setdefault((entry["group"], entry["resource"]), {})[(meta.get("namespace") or "", meta["name"])] = obj
        return True

    def save(self):
        if not self.state_path:
            return
        with self._save_lock:
            self._save()

    def _save(self):
        with self.lock:
            data = json.dumps(self.snapshot(), separators=(",", ":"))
            self._dirty = False
        tmp = self.state_path.with_name(self.state_path.name + ".tmp")
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        # private: the snapshot holds Secrets (Helm releases among them)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(data)
        os.replace(tmp, self.state_path)

    def start_saver(self, interval=1.0):
        def run():
            while not self._closing:
                time.sleep(interval)
                if self._dirty:
                    try:
                        self.save()
                    except OSError:
                        pass
        threading.Thread(target=run, name="state-saver", daemon=True).start()

    def close(self):
        self._closing = True
        with self.lock:
            self.changed.notify_all()
        self.save()

    @property
    def closing(self):
        return self._closing
