# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the aws_gaps modules share: one error type, AWS calls that raise it, results made JSON-safe, and the one
place an error becomes ``fail_json`` (or ``fail_json_aws`` when AWS answered it)."""

from __future__ import annotations

import datetime

try:
    import botocore
except ImportError:
    pass  # AnsibleAWSModule reports a missing botocore

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict


class AwsGapError(Exception):
    """A refusal or failure; ``msg`` names the resource and what to change.

    ``exception`` is the botocore error behind it, if any; ``details`` are extra result keys for ``fail_json``
    (what was already changed, the update, ...)."""

    def __init__(self, msg, exception=None, **details):
        super().__init__(msg if exception is None else "%s: %s" % (msg, aws_error_text(exception)))
        self.msg = msg
        self.exception = exception
        self.details = details


def aws_error_text(exc):
    """``Code: message`` of a botocore ClientError, or the exception's text."""
    error = (getattr(exc, "response", None) or {}).get("Error") or {}
    if error.get("Code"):
        return "%s: %s" % (error["Code"], error.get("Message", ""))
    return str(exc)


def aws_error_code(exc):
    return ((getattr(exc, "response", None) or {}).get("Error") or {}).get("Code")


def aws_call(what, call, **kwargs):
    """``call(**kwargs)``; a botocore error becomes an AwsGapError saying ``what`` failed, with the error."""
    try:
        return call(**kwargs)
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise AwsGapError(what, exception=exc) from exc


def json_safe(value):
    """Datetimes (boto3 answers hold them) as ISO 8601 strings, in nested dicts and lists too."""
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    return value


def snake(value, ignore_list=()):
    """A boto3 answer in snake_case, JSON-safe."""
    return json_safe(camel_dict_to_snake_dict(value, ignore_list=list(ignore_list)))


def run(module, work):
    """Exit with ``work()``'s result; an AwsGapError fails the task with its message and details."""
    try:
        result = work()
    except AwsGapError as exc:
        details = json_safe(exc.details)
        if exc.exception is not None:
            module.fail_json_aws(exc.exception, msg=exc.msg, **details)
        module.fail_json(msg=exc.msg, **details)
    if not module._diff:  # pylint: disable=protected-access
        result.pop("diff", None)
    module.exit_json(**result)
