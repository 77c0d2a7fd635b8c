"""The three patch formats: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch.

Strategic merge needs to know, for each list field of a built-in type, whether the list is
merged by a key (patchMergeKey) or replaced. The real server reads that from Go struct tags;
here a small table keyed on field names (plus a little context) covers the built-in types.
"""

import jsonpatch

from .errors import ApiError, bad_request
from .util import clone

CONTAINER_LISTS = ("containers", "initContainers", "ephemeralContainers")


def merge_key_for(path):
    """patchMergeKey for the list at ``path`` (field names from the kind down), or None for atomic lists."""
    last = path[-1]
    parent = path[-2] if len(path) > 1 else ""
    kind = path[0]
    if last in CONTAINER_LISTS:
        return "name"
    if last == "ports":
        if parent in CONTAINER_LISTS:
            return "containerPort"
        if kind == "Service" and path[1:] == ("spec", "ports"):
            return "port"
        return None
    if last == "env" and parent in CONTAINER_LISTS:
        return "name"
    if last == "volumeMounts":
        return "mountPath"
    if last == "volumeDevices":
        return "devicePath"
    if last in ("volumes", "imagePullSecrets", "resourceClaims", "schedulingGates") and parent == "spec":
        return "name"
    if last == "hostAliases":
        return "ip"
    if last == "topologySpreadConstraints":
        return "topologyKey"
    if last == "conditions" and "status" in path:
        return "type"
    if last == "addresses" and kind == "Node":
        return "type"
    if last == "ownerReferences" and parent == "metadata":
        return "uid"
    if last == "secrets" and kind == "ServiceAccount":
        return "name"
    return None


def _is_set_list(path):
    """Lists of scalars with patchStrategy=merge (union instead of replace)."""
    return path[1:] == ("metadata", "finalizers")


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch. ``target`` is not modified."""
    if not isinstance(patch, dict):
        return clone(patch)
    result = clone(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def json_patch(target, operations):
    """RFC 6902 JSON patch, with errors mapped to the codes the API server uses."""
    if not isinstance(operations, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    try:
        return jsonpatch.JsonPatch(operations).apply(clone(target))
    except jsonpatch.InvalidJsonPatch as exc:
        raise bad_request("invalid JSON patch: %s" % exc) from exc
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        # Includes failed "test" operations and paths that do not exist.
        raise ApiError(422, "Invalid", "the server rejected our request due to an error in our request: %s" % exc) from exc


def strategic_merge(target, patch, kind):
    """Strategic merge patch of a built-in object. ``target`` is not modified."""
    if not isinstance(patch, dict):
        raise bad_request("strategic merge patch must be a JSON object")
    merged = _merge_map(clone(target) if isinstance(target, dict) else {}, patch, (kind,))
    return merged if merged is not None else {}


def _strip(value, path):
    """A new value coming from a patch: drop nulls and directives (merging into nothing does that)."""
    if isinstance(value, dict):
        return _merge_map({}, value, path)
    if isinstance(value, list):
        return [_strip(v, path) for v in value if not (isinstance(v, dict) and "$patch" in v and len(v) == 1)]
    return value


def _merge_map(original, patch, path):
    """Merge patch map into original map (mutates and returns original; None means 'delete me')."""
    directive = patch.get("$patch")
    if directive == "delete":
        return None
    if directive == "replace":
        return {k: _strip(v, path + (k,)) for k, v in patch.items() if not k.startswith("$") and v is not None}
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        sub = path + (key,)
        if value is None:
            original.pop(key, None)
        elif isinstance(value, dict):
            current = original.get(key)
            merged = _merge_map(current if isinstance(current, dict) else {}, value, sub)
            if merged is None:
                original.pop(key, None)
            else:
                original[key] = merged
        elif isinstance(value, list):
            original[key] = _merge_list(original.get(key), value, sub)
        else:
            original[key] = value
    for key, value in patch.items():
        if key.startswith("$deleteFromPrimitiveList/") and isinstance(value, list):
            field = key.split("/", 1)[1]
            if isinstance(original.get(field), list):
                original[field] = [v for v in original[field] if v not in value]
        elif key.startswith("$setElementOrder/") and isinstance(value, list):
            field = key.split("/", 1)[1]
            if isinstance(original.get(field), list):
                original[field] = _reorder(original[field], value, merge_key_for(path + (field,)))
    retain = patch.get("$retainKeys")
    if isinstance(retain, list):
        original = {k: v for k, v in original.items() if k in retain}
    return original


def _reorder(items, order, key):
    """Apply $setElementOrder: listed elements first in the given order, the rest after."""
    def ident(item):
        return item.get(key) if key and isinstance(item, dict) else item
    wanted = [ident(o) for o in order]
    ranked = sorted(enumerate(items), key=lambda pair: (wanted.index(ident(pair[1])) if ident(pair[1]) in wanted else len(wanted), pair[0]))
    return [item for unused_position, item in ranked]


def _merge_list(original, patch, path):
    """Merge a patch list into an original list according to the field's strategy."""
    key = merge_key_for(path)
    if any(isinstance(v, dict) and v.get("$patch") == "replace" and len(v) == 1 for v in patch):
        return _strip([v for v in patch if not (isinstance(v, dict) and v.get("$patch") == "replace")], path)
    if key is None:
        if _is_set_list(path):
            result = list(original or [])
            result.extend(v for v in patch if v not in result)
            return result
        return _strip(patch, path)
    result = [clone(v) for v in (original or [])]
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            if isinstance(item, dict) and item.get("$patch") == "delete":
                continue
            result.append(_strip(item, path))
            continue
        index = next((i for i, cur in enumerate(result) if isinstance(cur, dict) and cur.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            result = [cur for cur in result if not (isinstance(cur, dict) and cur.get(key) == item[key])]
        elif index is None:
            result.append(_strip(item, path))
        else:
            merged = _merge_map(result[index], item, path)
            if merged is None:
                del result[index]
            else:
                result[index] = merged
    return result
