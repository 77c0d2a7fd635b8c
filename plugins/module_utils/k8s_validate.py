# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Offline validation of Kubernetes manifests against the schemas shipped by kubernetes-validate.

Pure functions and one small cache; nothing here talks to a cluster. The module
loyalty.platform.k8s_validate (its action plugin, on the controller) and the unit
tests call validate_manifests().
"""

from __future__ import annotations

import re

try:
    import jsonschema
    from kubernetes_validate import utils as kv_utils
    from referencing import Registry, Resource

    HAS_KUBERNETES_VALIDATE = True
    KUBERNETES_VALIDATE_IMPORT_ERROR = None
except ImportError as exc:  # the module reports it through missing_required_lib
    HAS_KUBERNETES_VALIDATE = False
    KUBERNETES_VALIDATE_IMPORT_ERROR = exc

MAX_ERRORS_PER_OBJECT = 10


class K8sValidateError(Exception):
    """Raised when the validation itself cannot run (bad version, unreadable schema)."""


def parse_version(text):
    """'1.30', 'v1.30.2' -> (1, 30). Raises K8sValidateError naming the bad value."""
    match = re.match(r"^v?(\d+)\.(\d+)(?:\.\d+)?$", str(text).strip())
    if not match:
        raise K8sValidateError(
            "kubernetes_version %r is not a Kubernetes version: use major.minor, for example 1.30" % (text,)
        )
    return int(match.group(1)), int(match.group(2))


def nearest_version(requested, shipped):
    """Pick the shipped schema version for `requested`.

    The newest shipped version not newer than the request; if the request is
    older than everything shipped, the oldest shipped one. `shipped` holds
    strings like '1.30.0'; the result is one of them.
    """
    if not shipped:
        raise K8sValidateError("kubernetes-validate ships no schemas: reinstall the kubernetes-validate package")
    wanted = parse_version(requested)
    ordered = sorted(shipped, key=parse_version)
    older = [version for version in ordered if parse_version(version) <= wanted]
    return older[-1] if older else ordered[0]


def schema_file_name(kind, api_version):
    """kubernetes-validate's file naming: Deployment + apps/v1 -> deployment-apps-v1.json,
    NetworkPolicy + networking.k8s.io/v1 -> networkpolicy-networking-v1.json, Namespace + v1 -> namespace-v1.json."""
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    return "%s-%s.json" % (kind.lower(), group_version)


def object_ref(obj):
    """'Deployment loyalty-system-local/user-service-blue' (no namespace part for cluster objects)."""
    if not isinstance(obj, dict):
        return "<not a mapping>"
    kind = obj.get("kind") or "<no kind>"
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    name = metadata.get("name") or "<no name>"
    namespace = metadata.get("namespace")
    return "%s %s/%s" % (kind, namespace, name) if namespace else "%s %s" % (kind, name)


def format_path(path):
    """['spec', 'template', 'spec', 'containers', 0, 'image'] -> 'spec.template.spec.containers[0].image'."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += "[%d]" % part
        else:
            text += ("." if text else "") + str(part)
    return text or "(top level)"


def find_nulls(value, path=()):
    """Paths of every null in a rendered manifest: an empty template value, which the schemas accept but the API rejects."""
    found = []
    if value is None:
        found.append(list(path))
    elif isinstance(value, dict):
        for key, item in value.items():
            found.extend(find_nulls(item, path + (key,)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(find_nulls(item, path + (index,)))
    return found


def make_error(obj, path, message):
    metadata = obj.get("metadata") if isinstance(obj, dict) and isinstance(obj.get("metadata"), dict) else {}
    return {
        "object": object_ref(obj),
        "kind": obj.get("kind") if isinstance(obj, dict) else None,
        "namespace": metadata.get("namespace"),
        "name": metadata.get("name"),
        "path": format_path(path),
        "message": message,
    }


def error_line(error):
    """One line per error, the shape of every failure message: object, field path, what is wrong."""
    return "%s: %s: %s" % (error["object"], error["path"], error["message"])


class SchemaSet:
    """The schemas of one Kubernetes version (strict or not), loaded once per run and cached per kind."""

    def __init__(self, kubernetes_version, strict=True):
        self.version = nearest_version(kubernetes_version, kv_utils.all_versions())
        self.strict = strict
        self.directory = "kubernetes-json-schema/v%s-local%s" % (self.version, "-strict" if strict else "")
        self._registry = None
        self._validators = {}

    @property
    def minor(self):
        return "%d.%d" % parse_version(self.version)

    def _load(self, file_name):
        return kv_utils.schema_contents("%s/%s" % (self.directory, file_name), self.version)

    def validator(self, kind, api_version):
        """The cached validator for kind/apiVersion, or None when this Kubernetes version has no such type."""
        key = (kind, api_version)
        if key not in self._validators:
            try:
                schema = self._load(schema_file_name(kind, api_version))
            except FileNotFoundError:
                self._validators[key] = None
                return None
            if self._registry is None:
                self._registry = Resource.from_contents(self._load("_definitions.json")) @ Registry()
            registry = Resource.from_contents(schema) @ self._registry
            self._validators[key] = jsonschema.Draft202012Validator(schema, registry=registry)
        return self._validators[key]

    def errors(self, obj, reject_null=True):
        """Every problem of one manifest as error dicts (empty when it is valid)."""
        if not isinstance(obj, dict):
            return [make_error(obj, [], "a manifest must be a mapping, got %s" % type(obj).__name__)]
        found = []
        for field in ("apiVersion", "kind"):
            if not isinstance(obj.get(field), str) or not obj.get(field):
                found.append(make_error(obj, [field], "missing: every manifest needs apiVersion and kind"))
        if found:
            return found
        metadata = obj.get("metadata")
        if not isinstance(metadata, dict) or not metadata.get("name"):
            found.append(make_error(obj, ["metadata", "name"], "missing: name the object (generateName is not used here)"))
        validator = self.validator(obj["kind"], obj["apiVersion"])
        if validator is None:
            found.append(make_error(
                obj, ["apiVersion"],
                "Kubernetes %s has no %s in %s: fix kind/apiVersion" % (self.minor, obj["kind"], obj["apiVersion"]),
            ))
            return found
        schema_errors = sorted(validator.iter_errors(obj), key=lambda err: (list(map(str, err.absolute_path)), err.message))
        for err in schema_errors:
            found.append(make_error(obj, list(err.absolute_path), err.message))
        if reject_null:
            for path in find_nulls(obj):
                found.append(make_error(obj, path, "null value (an empty template value?): set it or leave the field out"))
        return found[:MAX_ERRORS_PER_OBJECT]


def failure_message(schema_version, objects, errors, strict=True):
    """The one failure message of loyalty.platform.k8s_validate: how many manifests fail, then every error line."""
    bad = len([obj for obj in objects if not obj["valid"]])
    return "%d of %d manifest(s) do not match the Kubernetes %s schema%s; fix these fields: %s" % (
        bad, len(objects), schema_version, " (strict)" if strict else "",
        "; ".join(error_line(error) for error in errors),
    )


def validate_manifests(definitions, kubernetes_version="1.30", strict=True, reject_null=True):
    """Validate a list of manifests. Returns (schema_version, objects, errors).

    schema_version: the Kubernetes minor version whose schemas were used ('1.30');
    objects: one {'object', 'kind', 'namespace', 'name', 'valid'} per manifest, in input order;
    errors: every error dict (object, kind, namespace, name, path, message).
    Raises K8sValidateError when validation cannot run at all.
    """
    if not HAS_KUBERNETES_VALIDATE:
        raise K8sValidateError("the Python package kubernetes-validate is missing: %s" % KUBERNETES_VALIDATE_IMPORT_ERROR)
    schemas = SchemaSet(kubernetes_version, strict=strict)
    objects, errors = [], []
    seen = {}
    for obj in definitions or []:
        found = schemas.errors(obj, reject_null=reject_null)
        ref = object_ref(obj)
        if not found and ref in seen:
            found = [make_error(obj, ["metadata", "name"], "defined twice in the same set: give each object a unique name")]
        seen[ref] = True
        errors.extend(found)
        metadata = obj.get("metadata") if isinstance(obj, dict) and isinstance(obj.get("metadata"), dict) else {}
        objects.append({
            "object": ref,
            "kind": obj.get("kind") if isinstance(obj, dict) else None,
            "namespace": metadata.get("namespace"),
            "name": metadata.get("name"),
            "valid": not found,
        })
    return schemas.minor, objects, errors


# The options of loyalty.platform.k8s_validate, for the module and its action plugin alike.
ARGUMENT_SPEC = dict(
    definitions=dict(type="list", elements="dict", required=True),
    kubernetes_version=dict(type="str", default="1.30"),
    strict=dict(type="bool", default=True),
    reject_null=dict(type="bool", default=True),
)


def check(definitions, kubernetes_version="1.30", strict=True, reject_null=True):
    """The task result of one validation: ``failed`` and ``msg`` set when a manifest fails or validation cannot run."""
    result = {"changed": False}
    if not HAS_KUBERNETES_VALIDATE:
        result.update(failed=True, msg="Failed to import the required Python library (kubernetes-validate): %s. Install it in the Python "
                      "that runs ansible-playbook (pip install kubernetes-validate)." % (KUBERNETES_VALIDATE_IMPORT_ERROR,))
        return result
    try:
        schema_version, objects, errors = validate_manifests(definitions, kubernetes_version, strict, reject_null)
    except K8sValidateError as exc:
        result.update(failed=True, msg=str(exc))
        return result
    result.update(schema_version=schema_version, objects=objects, errors=errors)
    if errors:
        result.update(failed=True, msg=failure_message(schema_version, objects, errors, strict))
    return result
