"""REST semantics of the API server: create/get/list/update/patch/delete, subresources, watch.

Callers hold ``store.lock`` around every method except ``watch`` (which takes it itself
between waits). Methods raise ApiError; they return plain dicts ready to be sent as JSON.
"""

import base64
import binascii
import json
import time
import uuid

import yaml

from . import patch as patches
from .defaults import apply_defaults
from .errors import (ApiError, already_exists, bad_request, conflict, invalid, invalid_value, namespace_not_found, not_found,
                     unsupported_media_type)
from .resources import ResourceDef
from .selectors import fields_match, labels_match, map_matches, parse_field_selector, parse_label_selector, selector_to_string
from .util import clone, dig, now_iso, rand_suffix
from .validation import validate

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
CUSTOM_PATCH_TYPES = [JSON_PATCH, MERGE_PATCH, APPLY_PATCH]
BUILTIN_PATCH_TYPES = CUSTOM_PATCH_TYPES + [STRATEGIC_PATCH]

# DELETE answers with the deleted object for these (ReturnDeletedObject in the real registry), a Status otherwise.
RETURNS_DELETED_OBJECT = {("", "pods"), ("", "services"), ("", "namespaces")}
PROPAGATION_POLICIES = ("Foreground", "Background", "Orphan")
NAMESPACES = ("", "namespaces")


class Allocator:
    """Hands out cluster IPs, node ports and pod IPs. They are data only: nothing ever connects to them."""

    def __init__(self):
        self._service = 10
        self._node_port = 30000
        self._pod = 0

    def cluster_ip(self):
        """Next 10.96.x.y address."""
        self._service += 1
        return "10.96.%d.%d" % divmod(self._service, 256)

    def node_port(self):
        """Next port in the 30000-32767 range."""
        self._node_port += 1
        return 30000 + (self._node_port - 30000) % 2768

    def pod_ip(self):
        """Next 10.244.x.y address."""
        self._pod += 1
        return "10.244.%d.%d" % divmod(self._pod % 65000 + 2, 256)


def parse_body(raw, content_type="application/json"):
    """Decode a request body (JSON, or YAML when the content type says so)."""
    text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
    try:
        if "yaml" in (content_type or ""):
            return yaml.safe_load(text)
        return json.loads(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request("error decoding request body: %s" % exc) from exc


def crd_resource_defs(crd):
    """ResourceDefs served for a CustomResourceDefinition object."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    defs = []
    for version in spec.get("versions") or []:
        if not version.get("served", True):
            continue
        subresources = version.get("subresources") or {}
        defs.append(ResourceDef(
            group=spec["group"], version=version["name"], plural=names["plural"], singular=names.get("singular") or names["kind"].lower(),
            kind=names["kind"], namespaced=spec.get("scope") == "Namespaced", short_names=tuple(names.get("shortNames") or ()),
            subresources=tuple(s for s in ("status", "scale") if s in subresources), categories=tuple(names.get("categories") or ()),
            custom=True, generation=True))
    return defs


def _comparable(obj):
    """The object without fields that change on every write; equal comparables mean a no-op write."""
    out = dict(obj)
    md = dict(out.get("metadata") or {})
    for key in ("resourceVersion", "generation", "managedFields"):
        md.pop(key, None)
    out["metadata"] = md
    return out


def _spec_part(obj):
    """Everything but metadata and status: a change there bumps metadata.generation."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


class Api:
    """The API operations, bound to one emulator (store, registry, faults, controller hooks)."""

    def __init__(self, emu):
        self.emu = emu

    @property
    def store(self):
        """The object store."""
        return self.emu.store

    # ---- helpers ---------------------------------------------------------------

    @staticmethod
    def present(rdef, obj):
        """A copy of a stored object as served in rdef's version, apiVersion and kind first."""
        out = {"apiVersion": rdef.group_version, "kind": rdef.kind}
        for key, value in obj.items():
            if key not in ("apiVersion", "kind"):
                out[key] = clone(value)
        return out

    def _require(self, rdef, namespace, name):
        obj = self.store.get(rdef.store_key, namespace if rdef.namespaced else "", name)
        if obj is None:
            raise not_found(rdef, name)
        return obj

    @staticmethod
    def _check_body(rdef, body, namespace, name=None):
        """Reject bodies whose apiVersion/kind/namespace/name disagree with the URL (400 like the real server)."""
        if not isinstance(body, dict):
            raise bad_request("the request body must be a JSON object")
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version and api_version != rdef.group_version:
            raise bad_request("the API version in the data (%s) does not match the expected API version (%s)" % (api_version, rdef.group_version))
        if kind and kind != rdef.kind:
            raise bad_request('%s in version "%s" cannot be handled as a %s: no kind "%s" is registered for version "%s"'
                              % (kind, rdef.version, rdef.kind, kind, rdef.group_version))
        md = body.get("metadata")
        if md is None:
            md = body["metadata"] = {}
        if not isinstance(md, dict):
            raise bad_request("metadata must be an object")
        if rdef.namespaced and md.get("namespace") and namespace and md["namespace"] != namespace:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if name is not None and md.get("name") and md["name"] != name:
            raise bad_request("the name of the object (%s) does not match the name on the URL (%s)" % (md["name"], name))

    def _generate_name(self, rdef, namespace, prefix):
        for unused_attempt in range(20):
            name = prefix + rand_suffix()
            if self.store.get(rdef.store_key, namespace, name) is None:
                return name
        raise ApiError(500, "InternalError", "could not generate a unique name")

    # ---- reads -----------------------------------------------------------------

    def get(self, rdef, namespace, name):
        """GET one object."""
        return self.present(rdef, self._require(rdef, namespace, name))

    def select(self, rdef, namespace, label_selector=None, field_selector=None):
        """Stored objects matching the namespace and selectors (sorted by namespace/name)."""
        labels = parse_label_selector(label_selector) if label_selector else None
        fields = parse_field_selector(field_selector) if field_selector else None
        result = []
        for obj in self.store.items(rdef.store_key, namespace if rdef.namespaced else None):
            if labels and not labels_match(labels, dig(obj, "metadata", "labels")):
                continue
            if fields and not fields_match(fields, obj):
                continue
            result.append(obj)
        return result

    def list(self, rdef, namespace, label_selector=None, field_selector=None, limit=None, continue_token=None):
        """GET a collection: a <Kind>List with metadata.resourceVersion, paginated with limit/continue."""
        items = self.select(rdef, namespace, label_selector, field_selector)
        if continue_token:
            try:
                start = json.loads(base64.urlsafe_b64decode(continue_token.encode()).decode())["start"]
            except (ValueError, KeyError, TypeError, binascii.Error) as exc:
                raise bad_request("continue key is not valid: %s" % exc) from exc
            items = [o for o in items if [o["metadata"].get("namespace", ""), o["metadata"]["name"]] > start]
        list_meta = {"resourceVersion": str(self.store.rv)}
        if limit and 0 < limit < len(items):
            last = items[limit - 1]["metadata"]
            token = json.dumps({"start": [last.get("namespace", ""), last["name"]]})
            list_meta["continue"] = base64.urlsafe_b64encode(token.encode()).decode()
            list_meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        out_items = []
        for obj in items:
            item = self.present(rdef, obj)
            if not rdef.custom:
                # The real server leaves TypeMeta out of items of built-in lists.
                del item["apiVersion"], item["kind"]
            out_items.append(item)
        return {"apiVersion": rdef.group_version, "kind": rdef.kind + "List", "metadata": list_meta, "items": out_items}

    # ---- create ------------------------------------------------------------------

    def create(self, rdef, namespace, body, dry_run=False, internal=False):
        """POST. ``internal`` writes (controllers, bootstrap) skip validation and the namespace check."""
        body = clone(body)
        self._check_body(rdef, body, namespace)
        md = body["metadata"]
        if rdef.namespaced:
            md["namespace"] = namespace or md.get("namespace") or ""
        else:
            md.pop("namespace", None)
        if not md.get("name") and md.get("generateName"):
            md["name"] = self._generate_name(rdef, md.get("namespace", ""), md["generateName"])
        name = md.get("name", "")
        if rdef.namespaced and not internal:
            ns_obj = self.store.get(NAMESPACES, "", md["namespace"])
            if ns_obj is None:
                raise namespace_not_found(md["namespace"])
            if dig(ns_obj, "status", "phase") == "Terminating":
                raise ApiError(403, "Forbidden", '%s "%s" is forbidden: unable to create new content in namespace %s because it is being terminated'
                               % (rdef.plural, name, md["namespace"]), {"name": name, "kind": rdef.plural})
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink"):
            md.pop(key, None)
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = now_iso()
        if rdef.generation:
            md["generation"] = 1
        else:
            md.pop("generation", None)
        if rdef.has_status and not internal:
            body.pop("status", None)
        if rdef.has_status and not rdef.custom:
            # Built-in kinds serialise an empty status struct from the moment they exist.
            body.setdefault("status", {})
        obj = self.present(rdef, body)
        apply_defaults(rdef, obj, None, self.emu.allocator)
        if not internal:
            validate(rdef, obj, None)
        self._system_status(rdef, obj)
        if self.store.get(rdef.store_key, md.get("namespace", ""), name) is not None:
            raise already_exists(rdef, name)
        if dry_run:
            obj["metadata"].pop("resourceVersion", None)
            return self.present(rdef, obj)
        self.store.put(rdef.store_key, obj, "ADDED")
        self._after_write(rdef, obj, None)
        return self.present(rdef, obj)

    # ---- update / patch ------------------------------------------------------------

    def update(self, rdef, namespace, name, body, dry_run=False, subresource=None):
        """PUT of the object or of its status subresource."""
        old = self._require(rdef, namespace, name)
        body = clone(body)
        self._check_body(rdef, body, namespace, name)
        wanted_rv = body["metadata"].get("resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise conflict(rdef, name)
        wanted_uid = body["metadata"].get("uid")
        if wanted_uid and wanted_uid != old["metadata"].get("uid"):
            raise conflict(rdef, name, "Precondition failed: UID in precondition: %s, UID in object meta: %s" % (wanted_uid, old["metadata"].get("uid")))
        new = self._merge_scope(rdef, old, body, subresource)
        return self.present(rdef, self.commit_update(rdef, old, new, dry_run))

    @staticmethod
    def _merge_scope(rdef, old, candidate, subresource):
        """Keep only what the endpoint may change: .status for /status, everything but .status otherwise."""
        if subresource in ("status", "finalize"):
            new = clone(old)
            if subresource == "finalize":
                new.setdefault("spec", {})["finalizers"] = dig(candidate, "spec", "finalizers") or []
            elif candidate.get("status") is None:
                new.pop("status", None)
            else:
                new["status"] = clone(candidate["status"])
            return new
        new = candidate
        if rdef.has_status:
            if "status" in old:
                new["status"] = clone(old["status"])
            else:
                new.pop("status", None)
        return new

    def patch(self, rdef, namespace, name, content_type, raw, dry_run=False, subresource=None, field_manager=None):
        """PATCH with any of the four patch types. Returns (code, object): server-side apply may create (201)."""
        ctype = (content_type or "").split(";")[0].strip().lower()
        if ctype not in (BUILTIN_PATCH_TYPES if not rdef.custom else CUSTOM_PATCH_TYPES):
            raise unsupported_media_type(CUSTOM_PATCH_TYPES if rdef.custom else BUILTIN_PATCH_TYPES)
        body = parse_body(raw, ctype)
        if ctype == APPLY_PATCH:
            if not field_manager:
                raise bad_request("PATCH, application/apply-patch+yaml requires fieldManager parameter")
            if not isinstance(body, dict) or not body.get("kind") or not body.get("apiVersion"):
                raise bad_request("invalid object type: %s, Kind=%s" % ((body or {}).get("apiVersion", "/"), (body or {}).get("kind", "")))
            self._check_body(rdef, body, namespace, name)
            if subresource is None and self.store.get(rdef.store_key, namespace if rdef.namespaced else "", name) is None:
                body["metadata"]["name"] = name
                return 201, self.create(rdef, namespace, body, dry_run)
        old = self._require(rdef, namespace, name)
        base = self.present(rdef, old)
        if ctype == JSON_PATCH:
            patched = patches.json_patch(base, body)
        elif ctype == MERGE_PATCH or (ctype == APPLY_PATCH and rdef.custom):
            patched = patches.merge_patch(base, body)
        else:
            patched = patches.strategic_merge(base, body, rdef.kind)
        if not isinstance(patched, dict):
            raise bad_request("the patched object is not a JSON object")
        wanted_rv = dig(patched, "metadata", "resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise conflict(rdef, name)
        patched.setdefault("metadata", {})
        new = self._merge_scope(rdef, old, patched, subresource)
        return 200, self.present(rdef, self.commit_update(rdef, old, new, dry_run))

    def commit_update(self, rdef, old, new, dry_run=False, internal=False):
        """Store ``new`` in place of ``old`` unless nothing changed. Returns the stored (or would-be) object."""
        if not isinstance(new.get("metadata"), dict):
            new["metadata"] = {}
        md, old_md = new["metadata"], old["metadata"]
        for key in ("name", "namespace", "uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "resourceVersion"):
            if key in old_md:
                md[key] = old_md[key]
            else:
                md.pop(key, None)
        if rdef.generation:
            md["generation"] = old_md.get("generation", 1)
        else:
            md.pop("generation", None)
        new["apiVersion"], new["kind"] = old.get("apiVersion", rdef.group_version), rdef.kind
        apply_defaults(rdef, new, old, self.emu.allocator)
        if not internal:
            validate(rdef, new, old)
        self._system_status(rdef, new)
        if _comparable(new) == _comparable(old):
            return old
        if rdef.generation and _spec_part(new) != _spec_part(old):
            md["generation"] = old_md.get("generation", 1) + 1
        if dry_run:
            return new
        if md.get("deletionTimestamp") and not md.get("finalizers"):
            # The last finalizer was removed from an object being deleted: now it really goes.
            self.store.remove(rdef.store_key, md.get("namespace", ""), md["name"])
            self._after_delete(rdef, new)
            return new
        self.store.put(rdef.store_key, new, "MODIFIED")
        self._after_write(rdef, new, old)
        return new

    def internal_update(self, rdef, obj):
        """Controller write of a full object (status included), no validation; no-op when unchanged."""
        old = self.store.get(rdef.store_key, obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
        if old is None:
            return None
        return self.commit_update(rdef, old, clone(obj), internal=True)

    # ---- scale subresource -------------------------------------------------------------

    @staticmethod
    def scale_of(obj):
        """The autoscaling/v1 Scale view of a Deployment/ReplicaSet/StatefulSet."""
        md = obj["metadata"]
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md},
            "spec": {"replicas": dig(obj, "spec", "replicas", default=0)},
            "status": {"replicas": dig(obj, "status", "replicas", default=0), "selector": selector_to_string(dig(obj, "spec", "selector") or {})},
        }

    def scale_get(self, rdef, namespace, name):
        """GET .../scale."""
        return self.scale_of(self._require(rdef, namespace, name))

    def scale_write(self, rdef, namespace, name, scale, dry_run=False):
        """Apply a (PUT or patched) Scale object to its parent."""
        old = self._require(rdef, namespace, name)
        if not isinstance(scale, dict):
            raise bad_request("the request body must be a JSON object")
        wanted_rv = dig(scale, "metadata", "resourceVersion")
        if wanted_rv and wanted_rv != old["metadata"]["resourceVersion"]:
            raise conflict(rdef, name)
        replicas = dig(scale, "spec", "replicas", default=0)
        if not isinstance(replicas, int) or replicas < 0:
            scale_def = ResourceDef(group="autoscaling", version="v1", plural="scale", singular="scale", kind="Scale")
            raise invalid(scale_def, name, [invalid_value("spec.replicas", replicas, "must be greater than or equal to 0")])
        new = clone(old)
        new.setdefault("spec", {})["replicas"] = replicas
        return self.scale_of(self.commit_update(rdef, old, new, dry_run))

    def scale_patch(self, rdef, namespace, name, content_type, raw, dry_run=False):
        """PATCH .../scale (merge, strategic or JSON patch of the Scale object)."""
        base = self.scale_get(rdef, namespace, name)
        ctype = (content_type or "").split(";")[0].strip().lower()
        body = parse_body(raw, ctype)
        if ctype == JSON_PATCH:
            patched = patches.json_patch(base, body)
        elif ctype in (MERGE_PATCH, APPLY_PATCH):
            patched = patches.merge_patch(base, body)
        elif ctype == STRATEGIC_PATCH:
            patched = patches.strategic_merge(base, body, "Scale")
        else:
            raise unsupported_media_type(BUILTIN_PATCH_TYPES)
        return self.scale_write(rdef, namespace, name, patched, dry_run)

    # ---- delete ----------------------------------------------------------------------

    def delete(self, rdef, namespace, name, options=None, dry_run=False):
        """DELETE one object, honouring preconditions, propagationPolicy and finalizers."""
        options = options or {}
        old = self._require(rdef, namespace, name)
        old_md = old["metadata"]
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != old_md.get("uid"):
            raise conflict(rdef, name, "Precondition failed: UID in precondition: %s, UID in object meta: %s" % (pre["uid"], old_md.get("uid")))
        if pre.get("resourceVersion") and pre["resourceVersion"] != old_md.get("resourceVersion"):
            raise conflict(rdef, name, "Precondition failed: ResourceVersion in precondition: %s, ResourceVersion in object meta: %s"
                           % (pre["resourceVersion"], old_md.get("resourceVersion")))
        policy = options.get("propagationPolicy")
        if policy is None:
            policy = "Orphan" if options.get("orphanDependents") else "Background"
        if policy not in PROPAGATION_POLICIES:
            raise bad_request('propagationPolicy: Unsupported value: "%s": supported values: "Foreground", "Background", "Orphan"' % policy)
        if dry_run:
            return self._delete_response(rdef, old)
        if old_md.get("finalizers"):
            # Finalizers keep the object (with deletionTimestamp) until a client removes them.
            if not old_md.get("deletionTimestamp"):
                marked = clone(old)
                marked["metadata"]["deletionTimestamp"] = now_iso()
                marked["metadata"]["deletionGracePeriodSeconds"] = 0
                self.store.put(rdef.store_key, marked, "MODIFIED")
                old = marked
            self._collect_dependents(old, policy)
            return self.present(rdef, old)
        self.remove(rdef, old, policy)
        return self._delete_response(rdef, old)

    def _delete_response(self, rdef, obj):
        if rdef.store_key in RETURNS_DELETED_OBJECT:
            out = self.present(rdef, obj)
            if rdef.kind == "Namespace":
                out["metadata"]["deletionTimestamp"] = now_iso()
                out.setdefault("status", {})["phase"] = "Terminating"
            return out
        details = {"name": obj["metadata"]["name"], "kind": rdef.plural, "uid": obj["metadata"].get("uid")}
        if rdef.group:
            details["group"] = rdef.group
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details}

    def delete_collection(self, rdef, namespace, label_selector=None, field_selector=None, options=None, dry_run=False):
        """DELETE on a collection: deletes every match and returns them as a list."""
        deleted = []
        for obj in self.select(rdef, namespace, label_selector, field_selector):
            md = obj["metadata"]
            if self.store.get(rdef.store_key, md.get("namespace", ""), md["name"]) is None:
                continue  # already removed by a cascade
            item = self.present(rdef, obj)
            self.delete(rdef, md.get("namespace", ""), md["name"], options, dry_run)
            deleted.append(item)
        return {"apiVersion": rdef.group_version, "kind": rdef.kind + "List", "metadata": {"resourceVersion": str(self.store.rv)}, "items": deleted}

    def remove(self, rdef, obj, policy="Background"):
        """Remove an object now, with namespace content deletion and owner garbage collection."""
        md = obj["metadata"]
        if self.store.remove(rdef.store_key, md.get("namespace", ""), md["name"]) is None:
            return
        if rdef.store_key == NAMESPACES:
            for key, key_def in self.emu.registry.store_keys().items():
                if key_def.namespaced:
                    for child in self.store.items(key, md["name"]):
                        self.remove(key_def, child, "Background")
        self._collect_dependents(obj, policy)
        self._after_delete(rdef, obj)

    def _collect_dependents(self, owner, policy):
        """Garbage-collect (or orphan) objects whose ownerReferences point at owner's uid."""
        uid = owner["metadata"].get("uid")
        namespace = owner["metadata"].get("namespace")
        for key, key_def in self.emu.registry.store_keys().items():
            for child in self.store.items(key, namespace if namespace and key_def.namespaced else None):
                refs = child["metadata"].get("ownerReferences") or []
                if not any(ref.get("uid") == uid for ref in refs):
                    continue
                if policy == "Orphan":
                    orphan = clone(child)
                    orphan["metadata"]["ownerReferences"] = [r for r in refs if r.get("uid") != uid]
                    if not orphan["metadata"]["ownerReferences"]:
                        del orphan["metadata"]["ownerReferences"]
                    self.store.put(key, orphan, "MODIFIED")
                else:
                    self.remove(key_def, child, "Background")

    # ---- hooks ---------------------------------------------------------------------------

    @staticmethod
    def _system_status(rdef, obj):
        """Status fields the server itself maintains at write time."""
        if rdef.kind == "CustomResourceDefinition" and not rdef.custom:
            spec = obj.get("spec") or {}
            names = dict(spec.get("names") or {})
            if names.get("kind"):
                names.setdefault("singular", names["kind"].lower())
                names.setdefault("listKind", names["kind"] + "List")
            status = obj.setdefault("status", {})
            status["acceptedNames"] = names
            # Keep transition times stable so re-applying an unchanged CRD stays a no-op.
            since = {c.get("type"): c.get("lastTransitionTime") for c in status.get("conditions") or []}
            status["conditions"] = [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found",
                 "lastTransitionTime": since.get("NamesAccepted") or now_iso()},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted",
                 "lastTransitionTime": since.get("Established") or now_iso()},
            ]
            status["storedVersions"] = [v["name"] for v in spec.get("versions") or [] if v.get("storage")] or status.get("storedVersions", [])

    def _after_write(self, rdef, obj, old):
        """Side effects of a stored write: CRD registration, per-namespace defaults, endpoints."""
        if rdef.kind == "CustomResourceDefinition" and not rdef.custom:
            if old is not None:
                self.emu.registry.remove_group_resource(old["spec"]["group"], old["spec"]["names"]["plural"])
            for crd_def in crd_resource_defs(obj):
                self.emu.registry.add(crd_def)
        elif rdef.store_key == NAMESPACES and old is None:
            self._namespace_defaults(obj["metadata"]["name"])
        elif rdef.store_key == ("", "services"):
            # Endpoints follow a selector change within the same request, so a client re-reading sees them.
            self.emu.controller.sync_service(obj)
        self.emu.controller.kick()

    def _after_delete(self, rdef, obj):
        if rdef.kind == "CustomResourceDefinition" and not rdef.custom:
            group, plural = obj["spec"]["group"], obj["spec"]["names"]["plural"]
            cr_def = self.emu.registry.by_store_key((group, plural))
            if cr_def is not None:
                for child in self.store.items(cr_def.store_key):
                    self.remove(cr_def, child)
            self.emu.registry.remove_group_resource(group, plural)
        elif rdef.store_key == ("", "services"):
            md = obj["metadata"]
            endpoints = self.store.get(("", "endpoints"), md.get("namespace", ""), md["name"])
            if endpoints is not None:
                self.store.remove(("", "endpoints"), md.get("namespace", ""), md["name"])
        self.emu.controller.forget(obj)
        self.emu.controller.kick()

    def _namespace_defaults(self, namespace):
        """What controllers put in every new namespace: the default ServiceAccount and the root CA ConfigMap."""
        sa_def = self.emu.registry.lookup("", "v1", "serviceaccounts")
        cm_def = self.emu.registry.lookup("", "v1", "configmaps")
        if self.store.get(sa_def.store_key, namespace, "default") is None:
            self.create(sa_def, namespace, {"metadata": {"name": "default"}}, internal=True)
        if self.store.get(cm_def.store_key, namespace, "kube-root-ca.crt") is None:
            self.create(cm_def, namespace, {"metadata": {"name": "kube-root-ca.crt", "annotations": {"kubernetes.io/description": (
                "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the "
                "internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.")}},
                "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nemulated\n-----END CERTIFICATE-----\n"}}, internal=True)

    # ---- watch -----------------------------------------------------------------------------

    def watch(self, rdef, namespace, label_selector=None, field_selector=None, resource_version=None, timeout=60.0, stopping=None):
        """Validate a watch request and return a generator of WatchEvent dicts.

        Parameters are checked here, before any byte is sent, so errors are ordinary Status answers.
        The generator takes the lock itself and never yields while holding it.
        """
        labels = parse_label_selector(label_selector) if label_selector else None
        fields = parse_field_selector(field_selector) if field_selector else None
        if resource_version not in (None, "", "0") and not str(resource_version).isdigit():
            raise bad_request("invalid resourceVersion: %s" % resource_version)
        scope = namespace if rdef.namespaced else None

        def wanted(key, obj):
            if key != rdef.store_key:
                return False
            if scope is not None and obj["metadata"].get("namespace") != scope:
                return False
            if labels and not labels_match(labels, dig(obj, "metadata", "labels")):
                return False
            return not fields or fields_match(fields, obj)

        with self.store.lock:
            if resource_version in (None, "", "0"):
                # No starting point: synthetic ADDED events for the current state, then changes.
                initial = [{"type": "ADDED", "object": self.present(rdef, o)} for o in self.select(rdef, namespace, label_selector, field_selector)]
                last = self.store.rv
            else:
                initial, last = [], int(resource_version)
        return self._watch_stream(rdef, initial, last, wanted, time.monotonic() + timeout, stopping)

    def _watch_stream(self, rdef, initial, last, wanted, deadline, stopping):
        yield from initial
        while time.monotonic() < deadline and not (stopping and stopping.is_set()):
            with self.store.changed:
                events = self.store.events_since(last)
                if events == []:
                    self.store.changed.wait(min(0.5, max(0.0, deadline - time.monotonic())))
                    events = self.store.events_since(last)
                if events is None:
                    batch = [{"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                                          "message": "too old resource version: %s" % last, "reason": "Expired", "code": 410}}]
                else:
                    batch = []
                    for rv, key, event_type, obj in events:
                        last = rv
                        if wanted(key, obj):
                            batch.append({"type": event_type, "object": self.present(rdef, obj)})
            yield from batch
            if events is None:
                return

    # ---- proxy -------------------------------------------------------------------------------

    def workload_names(self, pod):
        """Names a fault may use for a pod: the pod, its ReplicaSet and its Deployment (via controller ownerReferences)."""
        names = {pod["metadata"]["name"]}
        namespace = pod["metadata"].get("namespace", "")
        current = pod
        for unused_level in range(3):
            ref = next((r for r in current["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
            if not ref:
                break
            names.add(ref.get("name"))
            owner_def = self.emu.registry.by_kind(ref.get("apiVersion", "").rpartition("/")[0], ref.get("kind"))
            current = self.store.get(owner_def.store_key, namespace, ref.get("name")) if owner_def else None
            if current is None:
                break
        return names

    @staticmethod
    def pod_ready(pod):
        """Ready condition of a pod."""
        return any(c.get("type") == "Ready" and c.get("status") == "True" for c in dig(pod, "status", "conditions") or [])

    def proxy(self, rdef, namespace, target, subpath):
        """pods/<name>[:port]/proxy/<path> and services/<name>[:port]/proxy/<path>: answer as a Spring Boot app would."""
        parts = target.split(":")
        name = parts[1] if len(parts) == 3 else parts[0]
        obj = self._require(rdef, namespace, name)
        if rdef.kind == "Service":
            selector = dig(obj, "spec", "selector")
            pods = [p for p in self.store.items(("", "pods"), namespace) if map_matches(selector, dig(p, "metadata", "labels")) and self.pod_ready(p)]
            if not pods:
                raise ApiError(503, "ServiceUnavailable", 'no endpoints available for service "%s"' % name, {})
            pod = pods[int(time.monotonic() * 1000) % len(pods)]
        else:
            pod = obj
        if not self.pod_ready(pod):
            return 503, {"status": "DOWN"}
        forced = self.emu.faults.pod_http(namespace, self.workload_names(pod))
        if forced is not None:
            return forced, {"status": "UP" if forced < 400 else "DOWN"}
        if subpath.strip("/") == "actuator/health":
            return 200, {"status": "UP", "groups": ["liveness", "readiness"]}
        return 200, {"status": "UP"}
