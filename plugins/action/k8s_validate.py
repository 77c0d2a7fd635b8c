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

from ansible_collections.loyalty.platform.plugins.module_utils.k8s_validate import ARGUMENT_SPEC, check

# The module's options (one spec for both). `definitions` is checked by run() itself and stands in as an empty list
# for the generic validator, which deep-copies every parameter: a noticeable cost for a few hundred rendered manifests.
VALIDATOR_SPEC = dict(ARGUMENT_SPEC, definitions=dict(type="raw"))


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
        validation = ArgumentSpecValidator(VALIDATOR_SPEC).validate(dict(self._task.args, definitions=[]))
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
        result.update(check(plain(definitions), args["kubernetes_version"], args["strict"], args["reject_null"]))
        return result
