"""Label selectors (query strings and LabelSelector objects) and field selectors."""

import re

from .errors import bad_request

_KEY_RE = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?$")
_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def _split_top_level(text):
    """Split on commas that are not inside parentheses ('a in (x,y),b' -> ['a in (x,y)', 'b'])."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


_SET_RE = re.compile(r"^(?P<key>\S+)\s+(?P<op>in|notin)\s*\((?P<values>[^)]*)\)$")
_EQ_RE = re.compile(r"^(?P<key>[^!=\s]+)\s*(?P<op>==|=|!=)\s*(?P<value>\S*)$")


def parse_label_selector(text):
    """Parse a labelSelector query string into a list of (key, op, values) requirements.

    Supported: k=v, k==v, k!=v, k in (a,b), k notin (a,b), k, !k. Raises 400 on syntax errors.
    """
    requirements = []
    for part in _split_top_level(text or ""):
        match = _SET_RE.match(part)
        if match and _KEY_RE.match(match.group("key")):
            values = {v.strip() for v in match.group("values").split(",") if v.strip()}
            if all(_VALUE_RE.match(v) for v in values):
                requirements.append((match.group("key"), match.group("op"), values))
                continue
        match = _EQ_RE.match(part)
        if match and _KEY_RE.match(match.group("key")) and _VALUE_RE.match(match.group("value")):
            op = "!=" if match.group("op") == "!=" else "="
            requirements.append((match.group("key"), op, {match.group("value")}))
            continue
        if part.startswith("!") and _KEY_RE.match(part[1:].strip()):
            requirements.append((part[1:].strip(), "!exists", set()))
            continue
        if _KEY_RE.match(part):
            requirements.append((part, "exists", set()))
            continue
        raise bad_request("unable to parse requirement: %s" % part)
    return requirements


def labels_match(requirements, labels):
    """True when the labels satisfy every parsed requirement."""
    labels = labels or {}
    for key, op, values in requirements:
        present = key in labels
        value = labels.get(key)
        if op == "=" and not (present and value in values):
            return False
        if op == "!=" and present and value in values:
            return False
        if op == "in" and not (present and value in values):
            return False
        if op == "notin" and present and value in values:
            return False
        if op == "exists" and not present:
            return False
        if op == "!exists" and present:
            return False
    return True


def selector_matches(selector, labels):
    """Match a metav1.LabelSelector object (matchLabels + matchExpressions).

    An empty selector matches everything, a missing (None) selector matches nothing,
    which is how Deployments, PDBs and NetworkPolicies interpret them.
    """
    if selector is None:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or [])
        if op == "In" and labels.get(key) not in values:
            return False
        if op == "NotIn" and key in labels and labels[key] in values:
            return False
        if op == "Exists" and key not in labels:
            return False
        if op == "DoesNotExist" and key in labels:
            return False
    return True


def map_matches(selector_map, labels):
    """Service-style selector: every key/value must be present. An empty map selects nothing."""
    if not selector_map:
        return False
    labels = labels or {}
    return all(labels.get(k) == v for k, v in selector_map.items())


def selector_to_string(selector):
    """Render a LabelSelector as the string form used in Scale.status.selector."""
    parts = ["%s=%s" % (k, v) for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op, key, values = expr.get("operator"), expr.get("key"), sorted(expr.get("values") or [])
        if op == "In":
            parts.append("%s in (%s)" % (key, ",".join(values)))
        elif op == "NotIn":
            parts.append("%s notin (%s)" % (key, ",".join(values)))
        elif op == "Exists":
            parts.append(key)
        elif op == "DoesNotExist":
            parts.append("!" + key)
    return ",".join(parts)


def parse_field_selector(text):
    """Parse a fieldSelector ('metadata.name=x,status.phase!=Running') into (path, op, value) tuples."""
    requirements = []
    for part in _split_top_level(text or ""):
        for op in ("!=", "==", "="):
            if op in part:
                path, value = part.split(op, 1)
                requirements.append((path.strip(), "!=" if op == "!=" else "=", value.strip()))
                break
        else:
            raise bad_request("invalid selector: '%s'; can't understand '%s'" % (text, part))
    return requirements


def field_value(obj, path):
    """Resolve a dotted path in an object as a string ('' when missing), like the API's field sets."""
    value = obj
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return ""
        value = value[key]
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return ""
    return str(value)


def fields_match(requirements, obj):
    """True when the object satisfies every field requirement."""
    for path, op, value in requirements:
        actual = field_value(obj, path)
        if op == "=" and actual != value:
            return False
        if op == "!=" and actual == value:
            return False
    return True
