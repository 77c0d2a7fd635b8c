# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Elasticsearch REST client of the collection's modules, and how a wanted body compares with the stored one.

Elasticsearch does not hand back what it was sent: it stores a canonical form. Index settings come back nested under
``index`` with every leaf a string (``{"number_of_shards": 1}`` is read back as ``{"index": {"number_of_shards": "1"}}``),
an ILM phase without ``min_age`` comes back with ``"0ms"``, some ILM actions come back with their defaults filled in,
an index template's ``data_stream: {}`` comes back as ``{"hidden": false, "allow_custom_routing": false}`` and its
missing ``composed_of`` as ``[]``. The ``normalize_*`` functions put a wanted body into that form, so comparing it with
what a GET returns tells whether a write is needed, and a second run after a write finds nothing to change.

The ``*_problems`` functions check a body before any request, naming the field and the fix.
"""

from __future__ import annotations

import base64
import copy
import json
import re

from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit

from ansible.module_utils.urls import open_url

from ansible_collections.loyalty.platform.plugins.module_utils.url_text import without_userinfo

# The connection options of every Elasticsearch module; documented once in the loyalty.platform.elasticsearch doc fragment.
CONNECTION_SPEC = dict(
    url=dict(type="str", required=True),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    api_key=dict(type="str", no_log=True),
    ca_path=dict(type="path"),
    validate_certs=dict(type="bool", default=True),
    timeout=dict(type="int", default=30),
)
CONNECTION_MUTUALLY_EXCLUSIVE = [("api_key", "username"), ("api_key", "password")]
CONNECTION_REQUIRED_TOGETHER = [("username", "password")]

ILM_PHASES = ("hot", "warm", "cold", "frozen", "delete")
# The actions each phase of the time-series lifecycle accepts (Elasticsearch refuses others with
# "invalid action [x] defined in phase [y]").
ILM_PHASE_ACTIONS = {
    "hot": ("set_priority", "unfollow", "rollover", "readonly", "downsample", "shrink", "forcemerge", "searchable_snapshot"),
    "warm": ("set_priority", "unfollow", "readonly", "downsample", "allocate", "migrate", "shrink", "forcemerge"),
    "cold": ("set_priority", "unfollow", "readonly", "downsample", "searchable_snapshot", "allocate", "migrate", "freeze"),
    "frozen": ("unfollow", "searchable_snapshot"),
    "delete": ("wait_for_snapshot", "delete"),
}
# What a GET of the policy shows for an action's options that were not given.
ILM_ACTION_DEFAULTS = {
    "delete": {"delete_searchable_snapshot": True},
    "allocate": {"include": {}, "exclude": {}, "require": {}},
    "searchable_snapshot": {"force_merge_index": True},
    "migrate": {"enabled": True},
}
ILM_DEFAULT_MIN_AGE = "0ms"
TIME_UNITS = {"nanos": 1, "micros": 10 ** 3, "ms": 10 ** 6, "s": 10 ** 9, "m": 60 * 10 ** 9, "h": 3600 * 10 ** 9, "d": 86400 * 10 ** 9}
TIME_VALUE = re.compile(r"^(\d+)(nanos|micros|ms|s|m|h|d)$")

INDEX_TEMPLATE_KEYS = ("index_patterns", "composed_of", "priority", "version", "template", "_meta", "data_stream", "allow_auto_create")
TEMPLATE_SECTION_KEYS = ("settings", "mappings", "aliases")
DATA_STREAM_DEFAULTS = {"hidden": False, "allow_custom_routing": False}
# What Elasticsearch refuses in an index name, an index pattern and an index template or ILM policy name.
FORBIDDEN_NAME_CHARACTERS = '\\/*?"<>|, #'


class ElasticsearchError(Exception):
    """A failed request: ``status`` is the HTTP status (None when there was no answer), ``reason`` Elasticsearch's own."""

    def __init__(self, msg, status=None, error_type=None, reason=None):
        super().__init__(msg)
        self.msg = msg
        self.status = status
        self.error_type = error_type
        self.reason = reason


def connection_spec():
    """A fresh copy of the connection options (AnsibleModule may change the dicts it is given)."""
    return copy.deepcopy(CONNECTION_SPEC)


def connection_problems(params):
    """What is wrong with the connection options (a list of messages, empty when nothing is)."""
    problems = []
    parts = urlsplit(params.get("url") or "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append("url must be the http or https URL of Elasticsearch, such as https://127.0.0.1:9200 (got %r)" % without_userinfo(params.get("url")))
    elif parts.username is not None or parts.password is not None:
        problems.append("url must not carry credentials; give them as username and password, or api_key")
    if (params.get("timeout") or 0) < 1:
        problems.append("timeout must be at least 1 second (got %s)" % params.get("timeout"))
    if params.get("api_key") is not None and not str(params["api_key"]).strip():
        problems.append("api_key is empty; give the encoded API key (the 'encoded' value of the create API key answer)")
    return problems


def error_details(document):
    """(type, reason) of an Elasticsearch error answer; ``error`` is an object, or a bare string for some refusals (405)."""
    if not isinstance(document, dict):
        return None, None
    error = document.get("error")
    if isinstance(error, dict):
        return error.get("type"), error.get("reason")
    if isinstance(error, str):
        return None, error
    return None, None


class ElasticsearchClient:
    """JSON requests to one Elasticsearch, with basic auth or an API key."""

    def __init__(self, url, username=None, password=None, api_key=None, ca_path=None, validate_certs=True, timeout=30, opener=None):
        self.base = url.rstrip("/")
        self.location = without_userinfo(self.base)
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.opener = opener or open_url
        self.headers = {"Accept": "application/json", "Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = "ApiKey %s" % api_key
        elif username is not None:
            token = base64.b64encode(("%s:%s" % (username, password or "")).encode("utf-8")).decode("ascii")
            self.headers["Authorization"] = "Basic %s" % token

    @classmethod
    def from_params(cls, params):
        return cls(params["url"], username=params.get("username"), password=params.get("password"), api_key=params.get("api_key"),
                   ca_path=params.get("ca_path"), validate_certs=params.get("validate_certs", True), timeout=params.get("timeout") or 30)

    def request(self, method, path, body=None, missing_ok=False):
        """Send one request; return (status, document). A 404 is returned when ``missing_ok``; any other failure raises."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        what = "%s %s" % (method, path)
        try:
            response = self.opener(self.base + path, data=data, method=method, headers=dict(self.headers), timeout=self.timeout,
                                   validate_certs=self.validate_certs, ca_path=self.ca_path, follow_redirects="none",
                                   use_netrc=False)
            status, raw = response.getcode(), response.read()
        except HTTPError as exc:
            try:
                raw = exc.read()
            except Exception:  # pylint: disable=broad-except
                raw = b""
            status = exc.code
        except (URLError, OSError, ValueError) as exc:
            raise ElasticsearchError("Elasticsearch at %s could not be reached for %s: %s" % (self.location, what, getattr(exc, "reason", exc))) from exc
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw or "")
        try:
            document = json.loads(text) if text.strip() else {}
        except ValueError:
            document = None
        if 200 <= status < 300 and document is not None:
            return status, document
        if status == 404 and missing_ok:
            return status, document
        error_type, reason = error_details(document)
        if 200 <= status < 300:
            detail = "an answer that is not JSON: %s" % text.strip()[:200]
        elif reason:
            detail = "%s%s" % ("%s: " % error_type if error_type else "", reason)
        else:
            detail = text.strip()[:300] or "no body"
        raise ElasticsearchError("Elasticsearch at %s answered HTTP %s to %s: %s" % (self.location, status, what, detail),
                                 status=status, error_type=error_type, reason=reason)


# ---- normalisation: the wanted body in the form Elasticsearch stores -------------------------------------------------


def setting_string(value):
    """A setting's value as Elasticsearch keeps it: a string (booleans lower-case), a list of strings, or None."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [setting_string(item) for item in value]
    return str(value)


def flat_settings(settings, prefix="", flat=None):
    """Every leaf of ``settings`` under its full dotted key; a key given twice (dotted and nested) raises ValueError."""
    flat = {} if flat is None else flat
    for key, value in (settings or {}).items():
        full = prefix + str(key)
        if isinstance(value, dict):
            flat_settings(value, full + ".", flat)
            continue
        if full in flat:
            raise ValueError("the setting %s is given twice (as a dotted key and nested); keep one" % full)
        flat[full] = setting_string(value)
    return flat


def nested(flat):
    """Dotted keys back into nested objects, as a GET shows them without ``flat_settings``."""
    tree = {}
    for key in sorted(flat):
        node = tree
        parts = key.split(".")
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError("the setting %s is both a value and an object; keep one" % key)
            node = child
        if isinstance(node.get(parts[-1]), dict):
            raise ValueError("the setting %s is both a value and an object; keep one" % key)
        node[parts[-1]] = flat[key]
    return tree


def normalize_settings(settings):
    """Index settings as stored: dotted keys expanded, the ``index.`` prefix added where missing, every leaf a string."""
    flat = {}
    for key, value in flat_settings(settings).items():
        if value is None:
            continue
        full = key if key.startswith("index.") else "index." + key
        if full in flat:
            raise ValueError("the setting %s is given twice (with and without the index. prefix); keep one" % full)
        flat[full] = value
    return nested(flat)


def normalize_ilm_policy(policy):
    """The body's ``policy`` object as a GET of it shows it: every phase with a ``min_age``, action defaults filled in."""
    result = copy.deepcopy(policy or {})
    phases = {}
    for phase_name, phase in (result.get("phases") or {}).items():
        phase = dict(phase or {})
        phase.setdefault("min_age", ILM_DEFAULT_MIN_AGE)
        actions = {}
        for action_name, options in (phase.get("actions") or {}).items():
            filled = copy.deepcopy(ILM_ACTION_DEFAULTS.get(action_name, {}))
            filled.update(options or {})
            actions[action_name] = filled
        phase["actions"] = actions
        phases[phase_name] = phase
    result["phases"] = phases
    if result.get("_meta") is None:
        result.pop("_meta", None)
    return result


def normalize_index_template(body):
    """An index template body as a GET of it shows it."""
    result = copy.deepcopy(body or {})
    patterns = result.get("index_patterns")
    if isinstance(patterns, str):
        result["index_patterns"] = [patterns]
    if result.get("composed_of") is None:
        result["composed_of"] = []
    if "data_stream" in result:
        if result["data_stream"] is None:
            del result["data_stream"]
        else:
            stream = dict(DATA_STREAM_DEFAULTS)
            stream.update(result["data_stream"])
            result["data_stream"] = stream
    for key in ("priority", "version"):
        if isinstance(result.get(key), str) and result[key].strip().isdigit():
            # Elasticsearch parses a number given as a string ("500") and stores the number.
            result[key] = int(result[key])
    section = result.get("template")
    if section is not None and section.get("settings") is not None:
        section["settings"] = normalize_settings(section["settings"])
    for key in [key for key, value in result.items() if value is None]:
        del result[key]
    return result


def stored_ilm_policy(document, name):
    """The ``policy`` object of a GET _ilm/policy/<name> answer, without what the server adds (version, modified_date,
    in_use_by); None when the answer holds no such policy."""
    entry = (document or {}).get(name) if isinstance(document, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("policy"), dict):
        return None
    return normalize_ilm_policy(entry["policy"])


def stored_index_template(document, name):
    """The ``index_template`` of a GET _index_template/<name> answer; None when it holds no template of that name."""
    for entry in (document or {}).get("index_templates") or []:
        if entry.get("name") == name and isinstance(entry.get("index_template"), dict):
            return normalize_index_template(entry["index_template"])
    return None


def differences(before, after, prefix=""):
    """The dotted paths at which two bodies differ (a key on one side only counts as a difference)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after), key=str):
            path = "%s.%s" % (prefix, key) if prefix else str(key)
            if key not in before or key not in after:
                found.append(path)
            else:
                found.extend(differences(before[key], after[key], path))
        return found
    return [] if before == after else [prefix or "(body)"]


# ---- checks before any request ---------------------------------------------------------------------------------------


def name_problems(option, name, lowercase=False):
    """What Elasticsearch would refuse in an ILM policy or index template name."""
    if not name or not str(name).strip():
        return ["%s must not be empty" % option]
    problems = []
    bad = sorted(set(character for character in name if character in FORBIDDEN_NAME_CHARACTERS))
    if bad:
        problems.append("%s %r must not contain %s; use letters, digits, '-', '_' and '.'" % (option, name, " ".join(repr(c) for c in bad)))
    if name.startswith(("_", "-", "+")):
        problems.append("%s %r must not start with '_', '-' or '+'" % (option, name))
    if lowercase and name != name.lower():
        problems.append("%s %r must be lower case (Elasticsearch refuses upper-case template names); use %r" % (option, name, name.lower()))
    return problems


def time_nanos(value):
    """A time value such as 30d or 0ms in nanoseconds; None when it is not one (Elasticsearch takes no fractions)."""
    if not isinstance(value, str):
        return None
    if value.strip() == "0":
        return 0
    match = TIME_VALUE.match(value.strip())
    return int(match.group(1)) * TIME_UNITS[match.group(2)] if match else None


def _mapping_problem(field, value):
    if value is not None and not isinstance(value, dict):
        return "%s must be a dictionary (got %s)" % (field, type(value).__name__)
    return None


def ilm_policy_problems(policy):
    """What Elasticsearch would refuse in the body's ``policy`` object, each naming the field and the fix."""
    if not isinstance(policy, dict):
        return ["policy must be a dictionary with phases (and optionally _meta)"]
    problems = []
    unknown = sorted(key for key in policy if key not in ("phases", "_meta"))
    if unknown:
        problems.append("policy.%s is not a policy field; a policy has phases and _meta only (the policy name is the name option)" % unknown[0])
    problem = _mapping_problem("policy._meta", policy.get("_meta"))
    if problem:
        problems.append(problem)
    phases = policy.get("phases")
    if not isinstance(phases, dict) or not phases:
        problems.append("policy.phases must be a dictionary of at least one phase (%s)" % ", ".join(ILM_PHASES))
        return problems
    timings = []
    for name, phase in phases.items():
        field = "policy.phases.%s" % name
        if name not in ILM_PHASES:
            problems.append("%s: %r is not an ILM phase; the phases are %s" % (field, name, ", ".join(ILM_PHASES)))
            continue
        if not isinstance(phase, dict):
            problems.append("%s must be a dictionary with min_age and actions" % field)
            continue
        extra = sorted(key for key in phase if key not in ("min_age", "actions"))
        if extra:
            problems.append("%s.%s is not a phase field; a phase has min_age and actions only" % (field, extra[0]))
        if "min_age" in phase:
            nanos = time_nanos(phase["min_age"])
            if nanos is None:
                problems.append("%s.min_age %r is not a time value; write a whole number and a unit (d, h, m, s, ms, micros, nanos), such as 30d"
                                % (field, phase["min_age"]))
            else:
                timings.append((name, phase["min_age"], nanos))
        else:
            timings.append((name, ILM_DEFAULT_MIN_AGE, 0))
        actions = phase.get("actions")
        if not isinstance(actions, dict):
            problems.append("%s.actions must be a dictionary of actions ({} for none)" % field)
            continue
        for action, options in actions.items():
            if action not in ILM_PHASE_ACTIONS[name]:
                problems.append("%s.actions.%s: the %s phase does not take the %s action; it takes %s"
                                % (field, action, name, action, ", ".join(ILM_PHASE_ACTIONS[name])))
            elif options is not None and not isinstance(options, dict):
                problems.append("%s.actions.%s must be a dictionary of the action's options ({} for none)" % (field, action))
    timings.sort(key=lambda item: ILM_PHASES.index(item[0]))
    for (earlier, earlier_age, earlier_nanos), (later, later_age, later_nanos) in zip(timings, timings[1:]):
        if earlier_nanos > later_nanos:
            problems.append("policy.phases.%s.min_age %s is later than policy.phases.%s.min_age %s; phases run in the order %s, "
                            "so give each a min_age no smaller than the one before"
                            % (earlier, earlier_age, later, later_age, ", ".join(ILM_PHASES)))
    return problems


def _string_list_problem(field, value):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or any(not isinstance(item, str) or not item.strip() for item in value):
        return "%s must be a list of non-empty strings" % field
    return None


def _settings_problems(settings):
    problem = _mapping_problem("template.template.settings", settings)
    if problem:
        return [problem]
    try:
        normalize_settings(settings)
    except ValueError as exc:
        return ["template.template.settings: %s" % exc]
    problems = []
    for key, value in flat_settings(settings).items():
        items = value if isinstance(value, list) else [value]
        if any(isinstance(item, list) for item in items):
            problems.append("template.template.settings.%s: a setting is a value or a list of values, not a list of lists" % key)
    return problems


def index_template_problems(body):
    """What Elasticsearch would refuse in an index template body, each naming the field and the fix."""
    if not isinstance(body, dict):
        return ["template must be a dictionary (index_patterns, template, data_stream, priority, ...)"]
    problems = []
    for key in sorted(key for key in body if key not in INDEX_TEMPLATE_KEYS):
        problems.append("template.%s is not an index template field; the fields are %s" % (key, ", ".join(INDEX_TEMPLATE_KEYS)))
    patterns = body.get("index_patterns")
    if not patterns:
        problems.append("template.index_patterns is required: list the index or data stream names the template applies to, "
                        "such as ['logs-loyalty-*']")
    else:
        problem = _string_list_problem("template.index_patterns", patterns)
        if problem:
            problems.append(problem)
        else:
            for pattern in [patterns] if isinstance(patterns, str) else patterns:
                bad = sorted(set(c for c in pattern if c in FORBIDDEN_NAME_CHARACTERS and c != "*"))
                if bad:
                    problems.append("template.index_patterns: %r must not contain %s; only '*' is a wildcard" % (pattern, " ".join(repr(c) for c in bad)))
                if pattern.startswith("_"):
                    problems.append("template.index_patterns: %r must not start with '_'" % pattern)
    if body.get("composed_of") is not None:
        problem = _string_list_problem("template.composed_of", body["composed_of"])
        if problem:
            problems.append(problem)
    for key in ("priority", "version"):
        value = body.get(key)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            problems.append("template.%s must be a whole number of 0 or more (got %r)" % (key, value))
    if body.get("allow_auto_create") is not None and not isinstance(body["allow_auto_create"], bool):
        problems.append("template.allow_auto_create must be true or false")
    for key in ("_meta", "data_stream"):
        problem = _mapping_problem("template.%s" % key, body.get(key))
        if problem:
            problems.append(problem)
    for key, value in (body.get("data_stream") or {}).items():
        if key not in DATA_STREAM_DEFAULTS:
            problems.append("template.data_stream.%s is not a data stream option; the options are %s" % (key, ", ".join(DATA_STREAM_DEFAULTS)))
        elif not isinstance(value, bool):
            problems.append("template.data_stream.%s must be true or false" % key)
    section = body.get("template")
    problem = _mapping_problem("template.template", section)
    if problem:
        problems.append(problem)
    elif section:
        for key in sorted(key for key in section if key not in TEMPLATE_SECTION_KEYS):
            problems.append("template.template.%s is not a template field; the fields are %s" % (key, ", ".join(TEMPLATE_SECTION_KEYS)))
        problems.extend(_settings_problems(section.get("settings")))
        for key in ("mappings", "aliases"):
            problem = _mapping_problem("template.template.%s" % key, section.get(key))
            if problem:
                problems.append(problem)
    return problems


# ---- reading, comparing and writing one object -----------------------------------------------------------------------


class IlmPolicy:
    """An ILM policy: PUT/GET/DELETE _ilm/policy/<name>; the body is {"policy": ...}."""

    noun = "ILM policy"

    def __init__(self, name):
        self.name = name
        self.path = "/_ilm/policy/%s" % quote(name, safe="")

    @staticmethod
    def normalize(body):
        return normalize_ilm_policy(body)

    def read(self, client):
        status, document = client.request("GET", self.path, missing_ok=True)
        return None if status == 404 else stored_ilm_policy(document, self.name)

    def write(self, client, body):
        client.request("PUT", self.path, {"policy": body})


class IndexTemplate:
    """A composable index template: PUT/GET/DELETE _index_template/<name>; the body is the template itself."""

    noun = "index template"

    def __init__(self, name):
        self.name = name
        self.path = "/_index_template/%s" % quote(name, safe="")

    @staticmethod
    def normalize(body):
        return normalize_index_template(body)

    def read(self, client):
        status, document = client.request("GET", self.path, missing_ok=True)
        return None if status == 404 else stored_index_template(document, self.name)

    def write(self, client, body):
        client.request("PUT", self.path, body)


def apply_state(client, resource, wanted, state, check_mode):
    """Make ``resource`` present with ``wanted`` (its body) or absent; write only when the stored body differs.

    Returns a dict: changed, changes (the dotted paths that differ), before and after (the normalised bodies, {} for
    none), stored (the body as Elasticsearch holds it after the run; in check mode as it would) and warnings."""
    current = resource.read(client)
    warnings = []
    if state == "absent":
        if current is not None and not check_mode:
            client.request("DELETE", resource.path, missing_ok=True)
        return dict(changed=current is not None, changes=differences(current or {}, {}), before=current or {}, after={},
                    stored=None, warnings=warnings)
    desired = resource.normalize(wanted)
    changes = differences(current or {}, desired)
    changed = current is None or bool(changes)
    stored = desired if changed else current
    if changed and not check_mode:
        resource.write(client, desired)
        stored = resource.read(client)
        if stored is None:
            raise ElasticsearchError("Elasticsearch at %s accepted the %s %s but does not return it" % (client.location, resource.noun, resource.name))
        drift = differences(desired, stored)
        if drift:
            warnings.append("Elasticsearch stored the %s %s otherwise than it was sent (at %s); the next run will find it changed again "
                            "unless the wanted body is written the way Elasticsearch stores it" % (resource.noun, resource.name, ", ".join(drift)))
    return dict(changed=changed, changes=changes, before=current or {}, after=desired, stored=stored, warnings=warnings)


def module_args(body_option):
    """The AnsibleModule arguments of an Elasticsearch object module whose wanted body is ``body_option``."""
    argument_spec = connection_spec()
    argument_spec.update({
        "name": dict(type="str", required=True),
        body_option: dict(type="dict"),
        "state": dict(type="str", choices=["present", "absent"], default="present"),
    })
    return dict(argument_spec=argument_spec, supports_check_mode=True, mutually_exclusive=CONNECTION_MUTUALLY_EXCLUSIVE,
                required_together=CONNECTION_REQUIRED_TOGETHER, required_if=[("state", "present", (body_option,))])


def run_module(module, resource_class, body_option, body_problems, label, result_key, lowercase_name=False):
    """The whole of one Elasticsearch object module: options checked before any request, then apply_state.

    ``resource_class`` is IlmPolicy or IndexTemplate, ``body_option`` the option holding the wanted body,
    ``body_problems`` its check, ``label`` how messages name the object, ``result_key`` where the stored body is
    returned."""
    params = module.params
    problems = connection_problems(params) + name_problems("name", params["name"], lowercase=lowercase_name)
    if params["state"] == "present":
        problems += body_problems(params[body_option])
    if problems:
        module.fail_json(msg="Invalid options, nothing was sent to Elasticsearch: %s." % "; ".join(problems), changed=False)
    try:
        outcome = apply_state(ElasticsearchClient.from_params(params), resource_class(params["name"]), params[body_option],
                              params["state"], module.check_mode)
    except ElasticsearchError as exc:
        module.fail_json(msg="%s %s: %s" % (label, params["name"], exc.msg), status=exc.status, changed=False)
    for warning in outcome["warnings"]:
        module.warn(warning)
    result = dict(changed=outcome["changed"], changes=outcome["changes"])
    if params["state"] == "present":
        result[result_key] = outcome["stored"]
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = dict(before=outcome["before"], after=outcome["after"])
    module.exit_json(**result)
