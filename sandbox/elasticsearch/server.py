"""A stand-in for the few Elasticsearch 8 REST endpoints the collection uses. It is not Elasticsearch.

  python sandbox/elasticsearch/server.py --port P [--cert C --key K] --user elastic --password-file F [--api-key-file A]

Served, with basic auth (or an API key) always required: GET / (cluster info), PUT/GET/DELETE /_ilm/policy/<name>,
PUT/GET/DELETE /_index_template/<name>, POST /<target>/_doc, GET/DELETE /_data_stream/<name>, GET /<target>/_mapping,
GET|POST /<target>/_search (match_all and term), POST /<target>/_refresh and GET /<index>/_settings. Stored bodies
come back in the canonical form the real server gives them (each rule below names the behaviour it reproduces).
Sandbox-only: GET /_sandbox/requests[?since=N] counts the requests received and lists the latest (method, path and their
sequence number n, those after N), so a test can prove that none was made. State is in memory only.

Not reproduced: anything else of Elasticsearch, among it component templates (none exist, so a composed_of is refused),
the built-in templates (logs-*-*, metrics-*-*, ... at priority 100), rollover and ILM execution, analyzers beyond a
lower-cased word split, scoring (every hit scores 1.0), date formats other than ISO 8601 and epoch milliseconds, and
the exact [line:column] that parse errors name.
"""

import argparse
import base64
import collections
import datetime
import functools
import hmac
import ipaddress
import json
import re
import secrets
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

VERSION = "8.17.0"
PHASES = ("hot", "warm", "cold", "frozen", "delete")
# TimeseriesLifecycleType: the actions each phase accepts.
PHASE_ACTIONS = {
    "hot": {"set_priority", "unfollow", "rollover", "readonly", "downsample", "shrink", "forcemerge", "searchable_snapshot"},
    "warm": {"set_priority", "unfollow", "readonly", "downsample", "allocate", "migrate", "shrink", "forcemerge"},
    "cold": {"set_priority", "unfollow", "readonly", "downsample", "searchable_snapshot", "allocate", "migrate", "freeze"},
    "frozen": {"unfollow", "searchable_snapshot"},
    "delete": {"wait_for_snapshot", "delete"},
}
KNOWN_ACTIONS = set().union(*PHASE_ACTIONS.values())
TIME_UNITS = {"nanos": 1, "micros": 10 ** 3, "ms": 10 ** 6, "s": 10 ** 9, "m": 6 * 10 ** 10, "h": 36 * 10 ** 11, "d": 864 * 10 ** 11}
ISO_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2})(?::(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?)?)?)?"
                      r"(Z|[+-]\d{2}(?::?\d{2})?)?$")
INTEGER_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}
FLOAT_TYPES = {"float", "double", "half_float", "scaled_float"}


class EsError(Exception):
    """An error answer in Elasticsearch's shape: {"error": {"root_cause": [...], "type", "reason", ...}, "status"}."""

    def __init__(self, status, error_type, reason, headers=None, **extra):
        super().__init__(reason)
        self.status, self.headers = status, headers or {}
        cause = dict({"type": error_type, "reason": reason}, **{k: v for k, v in extra.items() if k != "caused_by"})
        self.body = {"error": dict({"root_cause": [cause]}, **cause, **({"caused_by": extra["caused_by"]} if "caused_by" in extra else {})),
                     "status": status}


def now_iso():
    moment = datetime.datetime.now(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def glob_regex(pattern):
    """An index pattern as a regex: Elasticsearch's simple match knows only `*`."""
    return re.compile("^" + ".*".join(re.escape(part) for part in pattern.split("*")) + "$")


def patterns_overlap(first, second):
    """Whether some name matches both patterns (Elasticsearch intersects their automatons)."""
    @functools.lru_cache(maxsize=None)
    def walk(i, j):
        if i == len(first) and j == len(second):
            return True
        if i < len(first) and first[i] == "*":
            return walk(i + 1, j) or (j < len(second) and walk(i, j + 1))
        if j < len(second) and second[j] == "*":
            return walk(i, j + 1) or (i < len(first) and walk(i + 1, j))
        return i < len(first) and j < len(second) and first[i] == second[j] and walk(i + 1, j + 1)
    return walk(0, 0)


# ---- canonical forms ---------------------------------------------------------------------------------------------


def flat_settings(settings, prefix=""):
    """Settings.Builder.loadFromMap: one flat map of dotted keys to strings (booleans lower-case, numbers as text),
    lists kept as lists of strings; then normalizePrefix("index."), as index templates and index creation do."""
    flat = {}
    for key, value in (settings or {}).items():
        full = prefix + key
        if isinstance(value, dict):
            flat.update(flat_settings(value, full + "."))
        elif value is not None:
            flat[full] = [text_of(item) for item in value] if isinstance(value, list) else text_of(value)
    return {(key if key.startswith("index.") else "index." + key): value for key, value in flat.items()} if not prefix else flat


def text_of(value):
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def nested_settings(flat):
    """Settings.toXContent without flat_settings: dotted keys as nested objects."""
    tree = {}
    for key in sorted(flat):
        node = tree
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = flat[key]
    return tree


def canonical_policy(policy):
    """PutLifecycleRequest -> LifecyclePolicy: a phase's min_age defaults to 0ms (TimeValue.ZERO, printed "0ms"); DeleteAction
    defaults delete_searchable_snapshot to true, AllocateAction always prints include/exclude/require,
    SearchableSnapshotAction force_merge_index to true, MigrateAction enabled to true. Other options are kept as given."""
    if not isinstance(policy, dict) or not isinstance(policy.get("phases"), dict):
        raise EsError(400, "x_content_parse_exception", "[1:2] [lifecycle_policy] failed to parse field [phases]: required [phases]")
    timings = []
    phases = {}
    for name, phase in policy["phases"].items():
        if name not in PHASES:
            raise EsError(400, "illegal_argument_exception", "Timeseries lifecycle does not support phase [%s]" % name)
        if not isinstance(phase, dict) or not isinstance(phase.get("actions"), dict):
            raise EsError(400, "x_content_parse_exception", "[1:2] [phase] failed to parse field [actions]: required [actions]")
        min_age = phase.get("min_age", "0ms")
        timings.append((PHASES.index(name), name, min_age, parse_time(min_age, "min_age")))
        actions = {}
        for action, options in phase["actions"].items():
            if action not in KNOWN_ACTIONS:
                raise EsError(400, "x_content_parse_exception", "[1:2] [phase] failed to parse field [actions]: unknown action [%s]" % action)
            if action not in PHASE_ACTIONS[name]:
                raise EsError(400, "illegal_argument_exception", "invalid action [%s] defined in phase [%s]" % (action, name))
            defaults = {"delete": {"delete_searchable_snapshot": True}, "allocate": {"include": {}, "exclude": {}, "require": {}},
                        "searchable_snapshot": {"force_merge_index": True}, "migrate": {"enabled": True}}.get(action, {})
            actions[action] = dict(defaults, **(options or {}))
        phases[name] = {"min_age": min_age, "actions": actions}
    timings.sort()
    for (_order, early, early_age, early_ns), (_next, late, late_age, late_ns) in zip(timings, timings[1:]):
        # TimeseriesLifecycleType.validateMonotonicallyIncreasingPhaseTimings (the wording is close to, not exactly, the real one).
        if early_ns > late_ns:
            raise EsError(400, "illegal_argument_exception", "Your policy is configured to run the %s phase (min_age: %s) before the %s phase "
                          "(min_age: %s). You should change the phase timing so that the phases will execute in the order of %s."
                          % (late, late_age, early, early_age, ", ".join(p for p in PHASES if p in phases)))
    return dict({"phases": phases}, **({"_meta": policy["_meta"]} if "_meta" in policy else {}))


def parse_time(value, field):
    match = re.match(r"^(\d+)(nanos|micros|ms|s|m|h|d)$", str(value))
    if value in ("0", "-1") or match:
        return int(match.group(1)) * TIME_UNITS[match.group(2)] if match else 0
    raise EsError(400, "illegal_argument_exception",
                  "failed to parse setting [%s] with value [%s] as a time value: unit is missing or unrecognized" % (field, value))


def canonical_template(name, body, store):
    """ComposableIndexTemplate as GET _index_template prints it: index_patterns always a list, composed_of always present
    ([] when not given), data_stream {} -> {"hidden": false, "allow_custom_routing": false}, template.settings nested strings."""
    if name != name.lower() or name.startswith("_") or any(c in name for c in '\\/*?"<>|, #'):
        raise EsError(400, "invalid_index_template_exception", "index_template [%s] invalid, cause [name must be lower cased, must not "
                      "start with '_' and must not contain spaces or any of \\/*?\"<>|,#]" % name)
    for key in body:
        if key not in ("index_patterns", "composed_of", "template", "priority", "version", "_meta", "data_stream", "allow_auto_create"):
            raise EsError(400, "x_content_parse_exception", "[1:2] [index_template] unknown field [%s]" % key)
    if "index_patterns" not in body:
        raise EsError(400, "x_content_parse_exception", "[1:2] Required [index_patterns]")
    patterns = body["index_patterns"] if isinstance(body["index_patterns"], list) else [body["index_patterns"]]
    result = {"index_patterns": patterns, "composed_of": body.get("composed_of") or []}
    if result["composed_of"]:
        # MetadataIndexTemplateService.validateIndexTemplateV2: every component template must exist (none does here).
        raise EsError(400, "invalid_index_template_exception", "index_template [%s] invalid, cause [index template [%s] specifies component "
                      "templates %s that do not exist]" % (name, name, json.dumps(result["composed_of"]).replace('"', "")))
    priority = body.get("priority")
    if priority is not None and (isinstance(priority, bool) or not isinstance(priority, int) or priority < 0):
        raise EsError(400, "action_request_validation_exception", "Validation Failed: 1: index template priority must be >= 0;")
    section = body.get("template")
    if section is not None:
        result["template"] = {key: value for key, value in section.items() if key != "settings"}
        if "settings" in section:
            result["template"]["settings"] = nested_settings(flat_settings(section["settings"]))
    for key in ("priority", "version", "_meta", "allow_auto_create"):
        if body.get(key) is not None:
            result[key] = body[key]
    if body.get("data_stream") is not None:
        result["data_stream"] = dict({"hidden": False, "allow_custom_routing": False}, **body["data_stream"])
    for other, stored in store.templates.items():
        # MetadataIndexTemplateService.findConflictingV2Templates: same priority and overlapping patterns are refused.
        if other != name and stored.get("priority", 0) == result.get("priority", 0):
            if any(patterns_overlap(mine, theirs) for mine in patterns for theirs in stored["index_patterns"]):
                raise EsError(400, "illegal_argument_exception", "index template [%s] has index patterns %s matching patterns from existing "
                              "templates [%s] with patterns (%s => %s) that have the same priority [%d], multiple index templates may not "
                              "match during index creation, please use a different priority" % (
                                  name, "[%s]" % ", ".join(patterns), other, other, "[%s]" % ", ".join(stored["index_patterns"]),
                                  result.get("priority", 0)))
    return result


# ---- documents and mappings ----------------------------------------------------------------------------------------


def parse_date(value):
    """strict_date_optional_time||epoch_millis, the default date format: epoch milliseconds as int, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value)
    text = str(value)
    if re.fullmatch(r"-?\d+", text) and len(text) != 4:
        return int(text)
    match = ISO_DATE.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        moment = datetime.datetime(int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0),
                                   tzinfo=datetime.timezone.utc)
    except ValueError:
        return None
    offset = 0
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 60 + int(digits[2:] or 0)) * (1 if zone[0] == "+" else -1)
    return int((moment.timestamp() - offset * 60) * 1000) + int((fraction or "0").ljust(3, "0")[:3])


def json_type(value):
    """The match_mapping_type of a value: date detection runs first, so a string that parses as strict_date_optional_time
    is a "date" and not a "string" (numeric_detection is off, so "42" stays a string). None for null and empty arrays."""
    if isinstance(value, list):
        return next((kind for kind in map(json_type, value) if kind), None)
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, str):
        return "date" if ISO_DATE.match(value) and parse_date(value) is not None else "string"
    return None


def dynamic_mapping(value, name, path, root):
    """The mapping an unmapped field gets: the first of the root's dynamic_templates whose match_mapping_type, match, unmatch,
    path_match and path_unmatch fit, else the default dynamic mapping: string -> text with a keyword subfield
    (ignore_above 256), long -> long, double -> float, boolean -> boolean, date -> date, object -> object."""
    kind = json_type(value)
    if kind is None:
        return None
    for entry in root.get("dynamic_templates") or []:
        (_label, rule), = entry.items()
        types = rule.get("match_mapping_type", "*")
        checks = [("match", name, True), ("unmatch", name, False), ("path_match", path, True), ("path_unmatch", path, False)]
        if kind not in (types if isinstance(types, list) else [types]) and types != "*":
            continue
        if all(any(glob_regex(p).match(subject) for p in (rule[key] if isinstance(rule[key], list) else [rule[key]])) == wanted
               for key, subject, wanted in checks if key in rule):
            text = json.dumps(rule.get("mapping", {})).replace("{name}", name).replace("{dynamic_type}", "float" if kind == "double" else kind)
            mapping = json.loads(text)
            if kind == "object":
                mapping.setdefault("properties", {})
            return mapping
    if kind == "object":
        return {"properties": {}}
    if kind == "string":
        return {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
    return {"type": {"double": "float"}.get(kind, kind)}


def coerce(kind, value):
    """The value as the field type indexes it; raises ValueError (with the real caused_by reason) when it cannot be."""
    if kind in INTEGER_TYPES:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError("Current token (%s) not numeric, can not use numeric value accessors" % type(value).__name__.upper())
        try:
            return int(float(value)) if isinstance(value, (float, str)) and re.fullmatch(r"-?\d+(\.\d+)?", str(value)) else int(value)
        except ValueError:
            raise ValueError('For input string: "%s"' % value) from None
    if kind in FLOAT_TYPES:
        try:
            return float(value) if not isinstance(value, bool) else float("x")
        except (TypeError, ValueError):
            raise ValueError('For input string: "%s"' % value) from None
    if kind == "boolean":
        if value in (True, False, "true", "false", ""):
            return value in (True, "true")
        raise ValueError("Failed to parse value [%s] as only [true] or [false] are allowed." % value)
    if kind == "date":
        parsed = parse_date(value)
        if parsed is None:
            raise ValueError("failed to parse date field [%s] with format [strict_date_optional_time||epoch_millis]" % value)
        return parsed
    if kind == "ip":
        try:
            return ipaddress.ip_address(str(value))
        except ValueError:
            raise ValueError("'%s' is not an IP string literal." % value) from None
    if kind in ("keyword", "text", "match_only_text", "wildcard", "constant_keyword") and isinstance(value, (dict, list)):
        raise ValueError("Can't get text on a START_OBJECT")
    return value


def index_fields(doc, mapping, raw, doc_id, prefix="", root=None):
    """Walk one document against the mapping's properties, adding dynamic fields (mapping changes in place); raises EsError."""
    root = mapping if root is None else root
    properties = mapping.setdefault("properties", {})
    for key, value in doc.items():
        path = prefix + key
        field = properties.get(key)
        if field is None:
            if value is None:
                continue
            dynamic = str(mapping.get("dynamic", root.get("dynamic", "true"))).lower()
            if dynamic == "strict":
                raise EsError(400, "strict_dynamic_mapping_exception", "[1:%d] mapping set to strict, dynamic introduction of [%s] within [%s] "
                              "is not allowed" % (raw.find('"%s"' % key) + 1, key, prefix.rstrip(".") or "_doc"))
            if dynamic == "false":
                continue
            field = dynamic_mapping(value, key, path, root)
            if field is None:
                continue
            properties[key] = field
        if "properties" in field or field.get("type") in ("object", "nested"):
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):
                    index_fields(item, field, raw, doc_id, path + ".", root)
            continue
        for item in value if isinstance(value, list) else [value]:
            if item is None:
                continue
            try:
                coerce(field.get("type", "object"), item)
            except ValueError as exc:
                # DocumentParsingException (document_parsing_exception since 8.7; mapper_parsing_exception before). The
                # [line:column] is where this stand-in finds the field in the body, near the real parser position.
                raise EsError(400, "document_parsing_exception", "[1:%d] failed to parse field [%s] of type [%s] in document with id '%s'. "
                              "Preview of field's value: '%s'" % (raw.find('"%s"' % key) + len(key) + 4, path, field.get("type"), doc_id, item),
                              caused_by={"type": "illegal_argument_exception", "reason": str(exc)}) from None


def sorted_mapping(mapping):
    """A mapping as GET _mapping prints it: the fields of every object in name order (ObjectMapper serialises them sorted)."""
    result = dict(mapping)
    if "properties" in result:
        result["properties"] = {key: sorted_mapping(result["properties"][key]) for key in sorted(result["properties"])}
    return result


def field_values(source, path):
    """The values at a dotted path of a document (objects and arrays walked)."""
    values = [source]
    for part in path.split("."):
        found = []
        for value in values:
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and part in item:
                    found.append(item[part])
        values = found
    flat = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return [value for value in flat if value is not None]


def mapped_field(mapping, path):
    """(type, source path) of a dotted field name, following properties and multi-fields (message.keyword); None if unmapped."""
    node, parts, source = mapping, path.split("."), []
    for index, part in enumerate(parts):
        props = node.get("properties", {})
        if part in props:
            node = props[part]
            source.append(part)
        elif part in node.get("fields", {}) and index == len(parts) - 1:
            return node["fields"][part], ".".join(source)
        else:
            return None
    return node, ".".join(source)


def term_matches(field, value, wanted):
    """A term query against one indexed value: exact for keyword (ignore_above drops long values), a token for text (the
    standard analyzer lower-cases; the term itself is not analysed), the parsed value for numbers, booleans and dates."""
    kind = field.get("type")
    try:
        if kind == "keyword":
            text = text_of(value)
            return len(text) <= field.get("ignore_above", 2 ** 31) and text == text_of(wanted)
        if kind in ("text", "match_only_text"):
            return text_of(wanted) in re.findall(r"\w+", text_of(value).lower())
        if kind in INTEGER_TYPES | FLOAT_TYPES | {"boolean", "date"}:
            return coerce(kind, value) == coerce(kind, wanted)
    except ValueError:
        return False
    return value == wanted


# ---- state ---------------------------------------------------------------------------------------------------------


class Store:
    """Everything the stand-in holds, behind one lock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.policies, self.templates, self.streams, self.indices = {}, {}, {}, {}
        self.requests, self.count = collections.deque(maxlen=10000), 0

    def matching_template(self, name):
        """The highest-priority template whose patterns match ``name`` (MetadataIndexTemplateService.findV2Template)."""
        found = [(body.get("priority", 0), key, body) for key, body in self.templates.items()
                 if any(glob_regex(p).match(name) for p in body["index_patterns"])]
        return max(found, key=lambda item: item[0])[1:] if found else (None, None)

    def resolve(self, target):
        """Concrete index names of a target (comma list, wildcards over data streams and non-hidden indices)."""
        names = []
        for part in target.split(","):
            if "*" in part:
                rx = glob_regex(part)
                names += [i for s, stream in sorted(self.streams.items()) if rx.match(s) for i in stream["indices"]]
                # Wildcards skip hidden indices, except that a pattern starting with a dot matches the dot-prefixed hidden ones.
                names += [i for i, index in sorted(self.indices.items())
                          if rx.match(i) and (not index["hidden"] or (part.startswith(".") and i.startswith(".")))]
            elif part in self.streams:
                names += self.streams[part]["indices"]
            elif part in self.indices:
                names.append(part)
            else:
                raise EsError(404, "index_not_found_exception", "no such index [%s]" % part, **{
                    "resource.type": "index_or_alias", "resource.id": part, "index_uuid": "_na_", "index": part})
        return list(dict.fromkeys(names))

    def new_index(self, name, template, stream=None):
        section = (template or {}).get("template") or {}
        flat = flat_settings(section.get("settings"))
        flat.update({"index.number_of_shards": flat.get("index.number_of_shards", "1"),
                     "index.number_of_replicas": flat.get("index.number_of_replicas", "1"), "index.provided_name": name,
                     "index.creation_date": str(int(time.time() * 1000)), "index.uuid": secrets.token_urlsafe(16)[:22]})
        mappings = json.loads(json.dumps(section.get("mappings") or {}))
        if stream:
            # Backing indices are hidden, prefer the hot tier, and map @timestamp as date with _data_stream_timestamp on.
            flat.update({"index.hidden": "true", "index.routing.allocation.include._tier_preference": "data_hot"})
            mappings = dict({"_data_stream_timestamp": {"enabled": True}}, **mappings)
            mappings.setdefault("properties", {}).setdefault("@timestamp", {"type": "date"})
        self.indices[name] = {"settings": flat, "mappings": mappings, "docs": [], "visible": 0, "hidden": bool(stream), "stream": stream}
        return self.indices[name]

    def write_index(self, target):
        """The index a document for ``target`` goes to, created (or its data stream) on first write as the real auto-create does."""
        if target in self.streams:
            return self.indices[self.streams[target]["indices"][-1]]
        if target in self.indices:
            return self.indices[target]
        if target != target.lower() or target.startswith(("_", "-", "+")):
            raise EsError(400, "invalid_index_name_exception", "Invalid index name [%s], must be lowercase" % target, index=target)
        template_name, template = self.matching_template(target)
        if template and "data_stream" in template:
            backing = ".ds-%s-%s-000001" % (target, datetime.datetime.now(datetime.timezone.utc).strftime("%Y.%m.%d"))
            self.streams[target] = {"indices": [backing], "template": template_name, "generation": 1,
                                    "hidden": template["data_stream"]["hidden"], "meta": template.get("_meta")}
            return self.new_index(backing, template, stream=target)
        return self.new_index(target, template)


STORE = Store()


class Handler(BaseHTTPRequestHandler):
    """One request: authenticate, route, answer JSON."""

    protocol_version = "HTTP/1.1"
    server_version = "loyalty-sandbox-elasticsearch-standin"
    users = {}
    api_keys = set()

    def log_message(self, *args):  # pylint: disable=arguments-differ
        return

    def do_GET(self):  # pylint: disable=invalid-name
        self.handle_any("GET")

    def do_PUT(self):  # pylint: disable=invalid-name
        self.handle_any("PUT")

    def do_POST(self):  # pylint: disable=invalid-name
        self.handle_any("POST")

    def do_DELETE(self):  # pylint: disable=invalid-name
        self.handle_any("DELETE")

    def send(self, status, body, headers=None):
        payload = json.dumps(body).encode()
        self.send_response(status)
        # Every answer of Elasticsearch 8 carries this header; the official clients refuse a server without it.
        self.send_header("X-elastic-product", "Elasticsearch")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def authenticate(self):
        header = self.headers.get("Authorization", "")
        scheme, _space, credentials = header.partition(" ")
        challenge = {"WWW-Authenticate": 'Basic realm="security", charset="UTF-8", ApiKey'}
        extra = {"header": {"WWW-Authenticate": ['Basic realm="security", charset="UTF-8"', "ApiKey"]}}
        if scheme.lower() == "basic":
            try:
                user, _colon, password = base64.b64decode(credentials.strip() + "==").decode("utf-8", "replace").partition(":")
            except ValueError:
                user, password = "", None
            if user in self.users and password is not None and hmac.compare_digest(self.users[user].encode(), password.encode()):
                return
            raise EsError(401, "security_exception", "unable to authenticate user [%s] for REST request [%s]" % (user, self.path), challenge, **extra)
        if scheme.lower() == "apikey":
            if any(hmac.compare_digest(credentials.encode(), key.encode()) for key in self.api_keys):
                return
            raise EsError(401, "security_exception", "unable to authenticate with provided credentials and anonymous access is not allowed "
                          "for this request", challenge, **extra)
        raise EsError(401, "security_exception", "missing authentication credentials for REST request [%s]" % self.path, challenge, **extra)

    def handle_any(self, method):
        url = urlsplit(self.path)
        path, query = unquote(url.path), {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""
        if path == "/_sandbox/requests" and method == "GET":
            since = int(query.get("since") or 0) if (query.get("since") or "0").isdigit() else 0
            with STORE.lock:
                self.send(200, {"count": STORE.count, "requests": [entry for entry in STORE.requests if entry["n"] > since]})
            return
        with STORE.lock:
            STORE.count += 1
            STORE.requests.append({"n": STORE.count, "method": method, "path": path})
        try:
            self.authenticate()
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError as exc:
                raise EsError(400, "x_content_parse_exception", "[1:1] Unexpected character: %s" % exc) from None
            with STORE.lock:
                status, answer = self.route(method, path.rstrip("/") or "/", query, body, raw)
            self.send(status, answer)
        except EsError as exc:
            self.send(exc.status, exc.body, exc.headers)

    def route(self, method, path, query, body, raw):  # pylint: disable=too-many-return-statements
        parts = path.strip("/").split("/") if path != "/" else []
        if not parts and method == "GET":
            return 200, {"name": "loyalty-sandbox-standin", "cluster_name": "loyalty-sandbox", "cluster_uuid": CLUSTER_UUID,
                         "version": {"number": VERSION, "build_flavor": "default", "build_type": "stand-in", "build_hash": "not-elasticsearch",
                                     "build_snapshot": False, "lucene_version": "9.12.0", "minimum_wire_compatibility_version": "7.17.0",
                                     "minimum_index_compatibility_version": "7.0.0"},
                         "tagline": "You Know, for Search"}
        if len(parts) == 3 and parts[:2] == ["_ilm", "policy"] and method in ("PUT", "GET", "DELETE"):
            return self.ilm(method, parts[2], body)
        if len(parts) == 2 and parts[0] == "_index_template" and method in ("PUT", "GET", "DELETE"):
            return self.index_template(method, parts[1], body, query)
        if len(parts) == 2 and parts[0] == "_data_stream" and method == "GET":
            return 200, {"data_streams": [self.describe_stream(name) for name in self.stream_names(parts[1])]}
        if len(parts) == 2 and parts[0] == "_data_stream" and method == "DELETE":
            for name in self.stream_names(parts[1]):
                for index in STORE.streams.pop(name)["indices"]:
                    del STORE.indices[index]
            return 200, {"acknowledged": True}
        if len(parts) == 2 and parts[1] == "_doc" and method == "POST":
            return self.index_doc(parts[0], body or {}, raw, query)
        if len(parts) == 2 and parts[1] == "_search" and method in ("GET", "POST"):
            return self.search(parts[0], body or {})
        if len(parts) == 2 and parts[1] == "_refresh" and method == "POST":
            names = STORE.resolve(parts[0])
            for name in names:
                STORE.indices[name]["visible"] = len(STORE.indices[name]["docs"])
            return 200, {"_shards": {"total": 2 * len(names), "successful": len(names), "failed": 0}}
        if len(parts) == 2 and parts[1] == "_mapping" and method == "GET":
            return 200, {name: {"mappings": sorted_mapping(STORE.indices[name]["mappings"])} for name in STORE.resolve(parts[0])}
        if len(parts) == 2 and parts[1] == "_settings" and method == "GET":
            flat = query.get("flat_settings") == "true"
            return 200, {name: {"settings": dict(STORE.indices[name]["settings"]) if flat else nested_settings(STORE.indices[name]["settings"])}
                         for name in STORE.resolve(parts[0])}
        raise EsError(400, "illegal_argument_exception", "no handler found for uri [%s] and method [%s] (this stand-in serves only the "
                      "endpoints its docstring lists)" % (path, method))

    @staticmethod
    def ilm(method, name, body):
        if method == "PUT":
            if not isinstance(body, dict) or "policy" not in body:
                raise EsError(400, "x_content_parse_exception", "[1:2] Required [policy]")
            policy = canonical_policy(body["policy"])
            old = STORE.policies.get(name)
            # PutLifecycleAction: an identical policy is left as it is (version and modified_date unchanged).
            if old is None or old["policy"] != policy:
                STORE.policies[name] = {"version": old["version"] + 1 if old else 1, "modified_date": now_iso(), "policy": policy}
            return 200, {"acknowledged": True}
        if name not in STORE.policies:
            raise EsError(404, "resource_not_found_exception", "Lifecycle policy not found: %s" % name)
        users = sorted(i for i, index in STORE.indices.items() if index["settings"].get("index.lifecycle.name") == name)
        if method == "DELETE":
            if users:
                raise EsError(400, "illegal_argument_exception", "Cannot delete policy [%s]. It is in use by one or more indices: [%s]" % (
                    name, ", ".join(users)))
            del STORE.policies[name]
            return 200, {"acknowledged": True}
        entry = dict(STORE.policies[name], in_use_by={
            "indices": users, "data_streams": sorted({STORE.indices[i]["stream"] for i in users if STORE.indices[i]["stream"]}),
            "composable_templates": sorted(t for t, body in STORE.templates.items()
                                           if flat_settings(((body.get("template") or {}).get("settings")) or {}).get("index.lifecycle.name") == name)})
        return 200, {name: entry}

    @staticmethod
    def index_template(method, name, body, query):
        if method == "PUT":
            STORE.templates[name] = canonical_template(name, body if isinstance(body, dict) else {}, STORE)
            return 200, {"acknowledged": True}
        if method == "GET" and "*" in name:
            # A wildcard lists the templates it matches, none being no error.
            return 200, {"index_templates": [{"name": key, "index_template": STORE.templates[key]} for key in sorted(STORE.templates)
                                             if glob_regex(name).match(key)]}
        if name not in STORE.templates:
            reason = "index_template [%s] missing" if method == "DELETE" else "index template matching [%s] not found"
            raise EsError(404, "resource_not_found_exception", reason % name)
        if method == "DELETE":
            users = sorted(s for s, stream in STORE.streams.items() if stream["template"] == name)
            if users:
                raise EsError(400, "illegal_argument_exception", "unable to remove composable templates [%s] as they are in use by a data streams "
                              "[%s]" % (name, ", ".join(users)))
            del STORE.templates[name]
            return 200, {"acknowledged": True}
        template = json.loads(json.dumps(STORE.templates[name]))
        if query.get("flat_settings") == "true" and "settings" in template.get("template", {}):
            template["template"]["settings"] = flat_settings(template["template"]["settings"])
        return 200, {"index_templates": [{"name": name, "index_template": template}]}

    @staticmethod
    def stream_names(expression):
        names = [s for s in STORE.streams if glob_regex(expression).match(s)] if "*" in expression else [expression]
        for name in names:
            if name not in STORE.streams:
                raise EsError(404, "index_not_found_exception", "no such index [%s]" % name, **{
                    "resource.type": "index_or_alias", "resource.id": name, "index_uuid": "_na_", "index": name})
        return sorted(names)

    @staticmethod
    def describe_stream(name):
        stream = STORE.streams[name]
        policy = STORE.indices[stream["indices"][-1]]["settings"].get("index.lifecycle.name")
        answer = {"name": name, "timestamp_field": {"name": "@timestamp"}, "generation": stream["generation"],
                  "indices": [{"index_name": i, "index_uuid": STORE.indices[i]["settings"]["index.uuid"]} for i in stream["indices"]],
                  # One node holds every primary and no replica can be assigned: the real single-node status is YELLOW.
                  "status": "YELLOW", "template": stream["template"], "hidden": stream["hidden"], "system": False,
                  "allow_custom_routing": False, "replicated": False}
        if policy:
            answer["ilm_policy"] = policy
        if stream["meta"] is not None:
            answer["_meta"] = stream["meta"]
        return answer

    @staticmethod
    def index_doc(target, doc, raw, query):
        if not isinstance(doc, dict):
            raise EsError(400, "document_parsing_exception", "[1:1] failed to parse: the document must be an object")
        doc_id = secrets.token_urlsafe(15)
        index = STORE.write_index(target)
        name = next(i for i, value in STORE.indices.items() if value is index)
        mappings = json.loads(json.dumps(index["mappings"]))
        if index["stream"] and not field_values(doc, "@timestamp"):
            raise EsError(400, "document_parsing_exception", "[1:%d] failed to parse: data stream timestamp field [@timestamp] is missing"
                          % max(len(raw), 1))
        index_fields(doc, mappings, raw, doc_id)
        index["mappings"] = mappings
        index["docs"].append({"_id": doc_id, "_source": doc, "at": time.monotonic()})
        if query.get("refresh") in ("", "true", "wait_for"):
            index["visible"] = len(index["docs"])
        return 201, {"_index": name, "_id": doc_id, "_version": 1, "result": "created", "_shards": {"total": 2, "successful": 1, "failed": 0},
                     "_seq_no": len(index["docs"]) - 1, "_primary_term": 1}

    @staticmethod
    def search(target, body):
        query = body.get("query") or {"match_all": {}}
        if not isinstance(query, dict) or len(query) != 1 or next(iter(query)) not in ("match_all", "term"):
            raise EsError(400, "parsing_exception", "this stand-in answers only the match_all and term queries (got %s)" % json.dumps(query))
        hits = []
        for name in STORE.resolve(target):
            index = STORE.indices[name]
            for position, doc in enumerate(index["docs"]):
                # A document is searchable after the next refresh: every second (index.refresh_interval), or at once
                # with ?refresh or POST _refresh.
                if position >= index["visible"] and time.monotonic() - doc["at"] < 1.0:
                    continue
                if "term" in query:
                    (field_name, spec), = query["term"].items()
                    wanted = spec.get("value") if isinstance(spec, dict) else spec
                    found = mapped_field(index["mappings"], field_name)
                    if not found or not any(term_matches(found[0], v, wanted) for v in field_values(doc["_source"], found[1])):
                        continue
                hits.append({"_index": name, "_id": doc["_id"], "_score": 1.0, "_source": doc["_source"]})
        start, size = int(body.get("from", 0)), int(body.get("size", 10))
        return 200, {"took": 1, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                     "hits": {"total": {"value": len(hits), "relation": "eq"}, "max_score": 1.0 if hits else None,
                              "hits": hits[start:start + size]}}


CLUSTER_UUID = str(uuid.uuid4())


class Server(ThreadingHTTPServer):
    """A thread per connection; the TLS handshake happens in that thread, so a slow client never blocks the others."""

    daemon_threads = True

    def __init__(self, address, tls=None):
        super().__init__(address, Handler)
        self.tls = tls

    def finish_request(self, request, client_address):
        if self.tls is None:
            super().finish_request(request, client_address)
            return
        try:
            wrapped = self.tls.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            super().finish_request(wrapped, client_address)
        finally:
            wrapped.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback only)")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cert", help="server certificate (PEM); with --key, the stand-in speaks https")
    parser.add_argument("--key", help="the certificate's private key (PEM)")
    parser.add_argument("--user", default="elastic", help="the one user basic auth accepts")
    parser.add_argument("--password-file", required=True, help="file holding that user's password")
    parser.add_argument("--api-key-file", help="file holding an API key accepted as `Authorization: ApiKey <key>`")
    args = parser.parse_args(argv)
    if not args.host.startswith("127.") and args.host not in ("localhost", "::1"):
        parser.error("--host must be a loopback address")
    if bool(args.cert) != bool(args.key):
        parser.error("--cert and --key go together")
    with open(args.password_file, encoding="utf-8") as handle:
        Handler.users = {args.user: handle.read().strip()}
    if args.api_key_file:
        with open(args.api_key_file, encoding="utf-8") as handle:
            Handler.api_keys = {handle.read().strip()}
    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
    server = Server((args.host, args.port), tls)
    print("elasticsearch stand-in (not Elasticsearch) listening on %s://%s:%d" % ("https" if tls else "http", args.host, server.server_address[1]),
          flush=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
