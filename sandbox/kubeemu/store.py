"""In-memory object storage with a global resourceVersion counter and a watch event log.

Everything here runs under one re-entrant lock (``Store.lock``); the API layer and the
controller take it around whole operations so that each request is atomic.
"""

import collections
import threading

from .util import clone

# How many watch events are kept; older resourceVersions get "410 Gone" like a compacted etcd.
EVENT_LOG_SIZE = 20000


class Store:
    """Objects keyed by (group, plural) then (namespace, name)."""

    def __init__(self):
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rv = 1000
        self._buckets = {}
        self._events = collections.deque(maxlen=EVENT_LOG_SIZE)
        # Watches asking for a resourceVersion at or below this floor cannot be served any more.
        self._floor = self.rv

    def clear(self):
        """Drop every object; watchers from before get 410 when they reconnect."""
        with self.lock:
            self._buckets.clear()
            self._events.clear()
            self._floor = self.rv
            self.changed.notify_all()

    def next_rv(self):
        """Bump and return the global resourceVersion."""
        self.rv += 1
        return self.rv

    def get(self, key, namespace, name):
        """The stored object (not a copy: callers must clone before handing it out) or None."""
        return self._buckets.get(key, {}).get((namespace or "", name))

    def items(self, key, namespace=None):
        """Stored objects of a type, optionally in one namespace, sorted by namespace and name."""
        bucket = self._buckets.get(key, {})
        keys = sorted(k for k in bucket if namespace is None or k[0] == namespace)
        return [bucket[k] for k in keys]

    def keys(self):
        """All (group, plural) buckets that hold objects."""
        return [k for k, v in self._buckets.items() if v]

    def put(self, key, obj, event_type):
        """Store obj (taking ownership), stamping a new resourceVersion, and log a watch event."""
        rv = self.next_rv()
        md = obj["metadata"]
        md["resourceVersion"] = str(rv)
        self._buckets.setdefault(key, {})[(md.get("namespace", ""), md["name"])] = obj
        self._log(key, event_type, obj, rv)
        return obj

    def remove(self, key, namespace, name):
        """Delete an object; the DELETED event carries a fresh resourceVersion, as in etcd."""
        obj = self._buckets.get(key, {}).pop((namespace or "", name), None)
        if obj is not None:
            rv = self.next_rv()
            gone = clone(obj)
            gone["metadata"]["resourceVersion"] = str(rv)
            self._log(key, "DELETED", gone, rv)
        return obj

    def _log(self, key, event_type, obj, rv):
        if len(self._events) == self._events.maxlen:
            self._floor = self._events[0][0]
        self._events.append((rv, key, event_type, clone(obj)))
        self.changed.notify_all()

    def events_since(self, rv):
        """Events with resourceVersion > rv, or None when rv is too old (compacted)."""
        if rv < self._floor:
            return None
        return [e for e in self._events if e[0] > rv]
