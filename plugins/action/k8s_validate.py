# -*- coding: utf-8 -*-
# Copyright: (c) 2025, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of loyalty.platform.k8s_validate: the offline schema check in the controller process.

The validation is pure computation on data the controller already holds, so it runs here rather
than as a module (no payload to build, no interpreter to start: a fraction of a module run).
The options, the result and the failure message are the module's (plugins/modules/k8s_validate.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase

from ansible_collections.loyalty.platform.plugins.module_utils.k8s_validate import (
    HAS_KUBERNETES_VALIDATE,
    KUBERNETES_VALIDATE_IMPORT_ERROR,
    K8sValidateError,
    failure_message,
    validate_manifests,
)

# The module's options. `definitions` is checked by run() itself and stands in as an empty list
# for the generic validator, which deep-copies every parameter: a noticeable cost for a few
# hundred rendered manifests.
ARGUMENT_SPEC = dict(
    definitions=dict(type="raw"),
    kubernetes_version=dict(type="str", default="1.30"),
    strict=dict(type="bool", default=True),
    reject_null=dict(type="bool", default=True),
)


def plain(value):
    """A copy made of plain dict, list, str, int, float, bool and None (templated values come as subclasses)."""
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


class ActionModule(ActionBase):
    """Validate the definitions on the controller; never returns them (they may be Secrets with placeholders)."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        result["changed"] = False
        definitions = self._task.args.get("definitions")
        validation = ArgumentSpecValidator(ARGUMENT_SPEC).validate(dict(self._task.args, definitions=[]))
        if validation.error_messages:
            result.update(failed=True, msg="; ".join(
                ("Unsupported parameters: " if type(error).__name__ == "UnsupportedError" else "") + str(error)
                for error in validation.errors))
            return result
        args = validation.validated_parameters
        if definitions is None:
            result.update(failed=True, msg="missing required arguments: definitions (the list of manifests to check)")
            return result
        if not isinstance(definitions, (list, tuple)) or not all(isinstance(item, Mapping) for item in definitions):
            result.update(failed=True, msg="definitions must be a list of manifests (mappings), as from_yaml_all gives them")
            return result
        args["definitions"] = definitions
        if not HAS_KUBERNETES_VALIDATE:
            result.update(failed=True, msg="Failed to import the required Python library (kubernetes-validate) on the controller: %s. "
                          "Install it in the Python that runs ansible-playbook (pip install kubernetes-validate)."
                          % (KUBERNETES_VALIDATE_IMPORT_ERROR,))
            return result
        try:
            schema_version, objects, errors = validate_manifests(
                plain(args["definitions"]), args["kubernetes_version"], args["strict"], args["reject_null"])
        except K8sValidateError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        result.update(schema_version=schema_version, objects=objects, errors=errors)
        if errors:
            result.update(failed=True, msg=failure_message(schema_version, objects, errors, args["strict"]))
        return result
