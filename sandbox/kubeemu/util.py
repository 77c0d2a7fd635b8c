"""Small helpers shared by the emulator modules (copying, time stamps, random names)."""

import datetime
import hashlib
import json
import random

# The alphabet Kubernetes uses for generated name suffixes and hashes (no vowels, so no words).
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def clone(value):
    """Deep-copy a JSON-like tree; much faster than copy.deepcopy for plain dicts/lists."""
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    return value


def now_iso():
    """Current UTC time in the RFC 3339 form the API server uses for metav1.Time."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rand_suffix(length=5):
    """Random suffix like the ones used for generateName and pod names."""
    return "".join(random.choice(SAFE_ALPHABET) for unused_index in range(length))


def stable_hash(value, length=10):
    """Deterministic short hash of a JSON value, encoded with the safe alphabet (pod-template-hash)."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, separators=(",", ":")).encode()).digest()
    number = int.from_bytes(digest[:8], "big")
    chars = []
    for unused_index in range(length):
        number, rem = divmod(number, len(SAFE_ALPHABET))
        chars.append(SAFE_ALPHABET[rem])
    return "".join(chars)


def dig(obj, *path, default=None):
    """Follow dict keys; return default as soon as a level is missing or not a dict."""
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def meta(obj):
    """Return obj['metadata'], creating it when missing."""
    return obj.setdefault("metadata", {})


def int_or_percent(value, total, round_up):
    """Resolve an IntOrString like maxSurge ('25%' or 1) against a total, as the deployment controller does."""
    if value is None:
        return 0
    if isinstance(value, str) and value.endswith("%"):
        try:
            pct = int(value[:-1])
        except ValueError:
            return 0
        scaled = total * pct
        return -(-scaled // 100) if round_up else scaled // 100
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0
