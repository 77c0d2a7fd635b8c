# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Which rendered Kubernetes objects the live ones do not satisfy yet.

Pure functions; nothing here talks to a cluster. The filter loyalty.platform.k8s_changed
and the unit tests call changed_objects().

The objects are applied with server-side apply, which keeps no copy of what was sent. Each
manifest that goes to the API therefore carries APPLIED_HASH_ANNOTATION, applied_hash() of
the manifest itself (a sha256, never the content: a Secret's data is not copied anywhere).
The answer is conservative: an object is "unchanged" only when an apply could not change
it, that is when
  * the live object exists and its APPLIED_HASH_ANNOTATION is the hash of exactly this
    definition (so the last apply sent this definition, and a field dropped from the
    template since then would have been removed by it), and
  * every field of the definition has the same value in the live object (so a change made
    behind our back is put right), compared strictly: same types, lists of the same length
    matched element by element.
Anything else, including anything unexpected, is "changed": a false "changed" costs one
no-op apply, a false "unchanged" would lose a change. The changed definitions come back
stamped with their hash, ready to apply.

Secrets are never compared by value: the rendered Secret carries SECRET_HASH_ANNOTATION,
secret_hash() of its data, and that must equal the hash of the live Secret's data.
"""

from __future__ import annotations

import hashlib
import json

from collections.abc import Mapping

APPLIED_HASH_ANNOTATION = "loyalty.platform/applied-sha256"
SECRET_HASH_ANNOTATION = "loyalty.platform/secret-hash"
SECRET_DATA_FIELDS = ("data", "stringData")
# Written by the API server, never by us: left out of every comparison.
SERVER_METADATA_FIELDS = frozenset((
    "uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
    "deletionGracePeriodSeconds", "managedFields", "selfLink",
))
SERVER_TOP_LEVEL_FIELDS = frozenset(("status",))
_MISSING = object()


class K8sChangesError(Exception):
    """Raised when the input is not what the comparison needs (not a list of manifests, bad live index)."""


def secret_hash(data):
    """sha256 hex of a Secret's data: 'key=value' lines in key order (values as sent, base64).

    The role's secrets.yml.j2 computes the same with
    data | dictsort | map('join', '=') | join('\\n') | hash('sha256').
    """
    text = "\n".join("%s=%s" % (key, data[key]) for key in sorted(data or {}))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _kind_of(value):
    """The JSON type of a value; bool is not a number here (True == 1 in Python, not in Kubernetes)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, Mapping):
        return "map"
    if isinstance(value, (list, tuple)):
        return "list"
    return "other"


def is_subset(desired, live):
    """True when every key of `desired` has an equal value in `live`, recursively.

    Mappings: each key of desired present in live with a subset value (live may have more keys).
    Lists: the same length and each element of desired a subset of live's element at the same index.
    Scalars: the same JSON type and equal. Anything else (unknown types): False.
    """
    kind = _kind_of(desired)
    if kind != _kind_of(live) or kind == "other":
        return False
    if kind == "map":
        return all(key in live and is_subset(value, live[key]) for key, value in desired.items())
    if kind == "list":
        return len(desired) == len(live) and all(is_subset(item, live_item) for item, live_item in zip(desired, live))
    return desired == live


def is_same(left, right):
    """Strict deep equality (subset both ways)."""
    return is_subset(left, right) and is_subset(right, left)


def _without(obj, top=(), metadata=(), annotations=()):
    """A copy of obj without some top-level, metadata and annotation keys (plain dicts, obj untouched)."""
    copy = {key: value for key, value in obj.items() if key not in top}
    meta = obj.get("metadata")
    if isinstance(meta, Mapping):
        meta = {key: value for key, value in meta.items() if key not in metadata}
        if isinstance(meta.get("annotations"), Mapping):
            meta["annotations"] = {key: value for key, value in meta["annotations"].items() if key not in annotations}
            if not meta["annotations"]:
                del meta["annotations"]
        copy["metadata"] = meta
    return copy


def object_key(obj, api_version=None, kind=None):
    """(apiVersion, kind, namespace, name) of a manifest; api_version/kind fill in what a list item lacks."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    return (obj.get("apiVersion") or api_version, obj.get("kind") or kind, meta.get("namespace") or None, meta.get("name"))


def index_live(live):
    """{key: live object} from a mapping '<apiVersion>/<Kind>' -> list of live objects (as the k8s lookup lists them).

    The mapping may also come as its JSON text: a playbook can keep a large listing as one string,
    which Ansible copies for free where it would deep-copy a structure (each template lookup does).
    """
    if isinstance(live, str):
        try:
            live = json.loads(live)
        except ValueError as exc:
            raise K8sChangesError("live is text but not JSON (%s): pass the mapping, or its to_json" % exc) from exc
    if not isinstance(live, Mapping):
        raise K8sChangesError("live must be a mapping of '<apiVersion>/<Kind>' to lists of objects, got %s" % type(live).__name__)
    index = {}
    for type_key, items in live.items():
        if not isinstance(type_key, str) or "/" not in type_key:
            raise K8sChangesError("live key %r is not '<apiVersion>/<Kind>' (for example 'apps/v1/Deployment')" % (type_key,))
        api_version, kind = type_key.rsplit("/", 1)
        for item in items or []:
            if isinstance(item, Mapping):
                index[object_key(item, api_version, kind)] = item
    return index


def applied_hash(definition):
    """sha256 hex of a manifest as applied: its canonical JSON, without the APPLIED_HASH_ANNOTATION itself."""
    bare = _without(definition, annotations=(APPLIED_HASH_ANNOTATION,))
    return hashlib.sha256(json.dumps(bare, sort_keys=True, separators=(",", ":")).encode("utf-8")).hexdigest()


def stamp(definition):
    """A copy of the manifest carrying APPLIED_HASH_ANNOTATION (the manifest itself is left as it is)."""
    stamped = dict(definition)
    meta = dict(definition.get("metadata") or {})
    annotations = dict(meta.get("annotations") or {})
    annotations[APPLIED_HASH_ANNOTATION] = applied_hash(definition)
    meta["annotations"] = annotations
    stamped["metadata"] = meta
    return stamped


def _live_hash(live):
    meta = live.get("metadata") if isinstance(live.get("metadata"), Mapping) else {}
    annotations = meta.get("annotations") if isinstance(meta.get("annotations"), Mapping) else {}
    value = annotations.get(APPLIED_HASH_ANNOTATION)
    return value if isinstance(value, str) else None


def is_satisfied(desired, live):
    """True only when applying `desired` over `live` could not change anything (see the module docstring)."""
    if not isinstance(desired, Mapping) or not isinstance(live, Mapping):
        return False
    if _live_hash(live) != applied_hash(desired):
        return False
    is_secret = desired.get("kind") == "Secret"
    ignore_top = SERVER_TOP_LEVEL_FIELDS | (frozenset(SECRET_DATA_FIELDS) if is_secret else frozenset())
    wanted = _without(desired, top=ignore_top, metadata=SERVER_METADATA_FIELDS, annotations=(APPLIED_HASH_ANNOTATION,))
    if is_secret:
        if "stringData" in desired:
            return False  # stringData is write-only: nothing live to compare it with
        expected = ((desired.get("metadata") or {}).get("annotations") or {}).get(SECRET_HASH_ANNOTATION)
        if not isinstance(expected, str) or expected != secret_hash(desired.get("data")):
            return False
        if secret_hash(live.get("data")) != expected:
            return False
    # apiVersion and kind found the live object (list items come without them)
    fields = {key: value for key, value in wanted.items() if key not in ("apiVersion", "kind")}
    return is_subset(fields, live)


def _create_only_paths(create_only):
    """{type key: [path tuples]} from create_only ('<apiVersion>/<Kind>' -> list of dotted field paths)."""
    if create_only is None:
        return {}
    problem = "create_only must map '<apiVersion>/<Kind>' to a list of dotted field paths (for example spec.selector), got %r"
    if not isinstance(create_only, Mapping):
        raise K8sChangesError(problem % (create_only,))
    paths = {}
    for type_key, fields in create_only.items():
        if not isinstance(fields, (list, tuple)) or not all(isinstance(field, str) and field and "" not in field.split(".") for field in fields):
            raise K8sChangesError(problem % (create_only,))
        paths[type_key] = [tuple(field.split(".")) for field in fields]
    return paths


def _pop_path(obj, path):
    """``(copy of obj without the field at path, its value)``, or ``(obj, _MISSING)`` when obj has no such field."""
    head = path[0]
    if not isinstance(obj, Mapping) or head not in obj:
        return obj, _MISSING
    copy = dict(obj)
    if len(path) == 1:
        return copy, copy.pop(head)
    copy[head], value = _pop_path(obj[head], path[1:])
    return (copy, value) if value is not _MISSING else (obj, _MISSING)


def split_fields(definition, paths):
    """``(definition without the fields at paths, {path: value} of those it had)``; definition itself is left as it is."""
    bare, taken = definition, {}
    for path in paths:
        bare, value = _pop_path(bare, path)
        if value is not _MISSING:
            taken[path] = value
    return bare, taken


def with_fields(definition, taken):
    """A copy of definition with each ``{path: value}`` put back (parents copied, never modified)."""
    result = dict(definition)
    for path, value in taken.items():
        node = result
        for key in path[:-1]:
            child = dict(node.get(key) or {})
            node[key] = child
            node = child
        node[path[-1]] = value
    return result


def changed_objects(definitions, live, create_only=None):
    """The definitions (in their order) that the live objects do not satisfy, each stamped (stamp()) for the apply.

    definitions: the rendered manifests; live: mapping '<apiVersion>/<Kind>' -> list of live objects, or its JSON text.
    create_only: mapping '<apiVersion>/<Kind>' -> dotted paths of fields sent only when the object is created: fields
    another field manager owns once the object exists (a Service's selector, which the blue/green switch owns). They
    are left out of the hash, the comparison and every later apply; a created object gets them back after stamping.
    """
    if not isinstance(definitions, (list, tuple)):
        raise K8sChangesError("definitions must be a list of manifests, got %s" % type(definitions).__name__)
    index = index_live(live)
    create_only_paths = _create_only_paths(create_only)
    changed = []
    for definition in definitions:
        if not isinstance(definition, Mapping):
            raise K8sChangesError("every definition must be a mapping, got %s" % type(definition).__name__)
        key = object_key(definition)
        live_object = index.get(key)
        bare, taken = split_fields(definition, create_only_paths.get("%s/%s" % (key[0], key[1]), ()))
        if not is_satisfied(bare, live_object):
            changed.append(with_fields(stamp(bare), taken) if live_object is None else stamp(bare))
    return changed
