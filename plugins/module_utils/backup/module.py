# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The parts every backup module shares: argument specs that match the doc fragments, the S3 client, and the one
place a BackupError (or an interruption) becomes ``fail_json``."""

from __future__ import annotations

import signal

from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError
from ansible_collections.loyalty.platform.plugins.module_utils.backup.naming import DEFAULT_PATTERN
from ansible_collections.loyalty.platform.plugins.module_utils.backup.s3stream import client_error_text


class Interrupted(BaseException):
    """SIGTERM, SIGINT or SIGHUP: unwinds like KeyboardInterrupt, so every ``finally`` cleans up."""


def location_spec(pattern=True):
    spec = {
        "bucket": {"type": "str", "required": True},
        "prefix": {"type": "str", "default": ""},
    }
    if pattern:
        spec["pattern"] = {"type": "str", "default": DEFAULT_PATTERN}
    return spec


def postgres_spec():
    return {
        "db": {"type": "str", "required": True, "aliases": ["login_db"]},
        "login_host": {"type": "str", "aliases": ["host"]},
        "login_port": {"type": "int", "default": 5432, "aliases": ["port"]},
        "login_user": {"type": "str", "default": "postgres", "aliases": ["login"]},
        "login_password": {"type": "str", "no_log": True},
        "passfile": {"type": "path"},
        "login_unix_socket": {"type": "str"},
        "ssl_mode": {"type": "str", "default": "prefer", "choices": ["allow", "disable", "prefer", "require", "verify-ca", "verify-full"]},
        "ca_cert": {"type": "path", "aliases": ["ssl_rootcert"]},
        "connect_timeout": {"type": "int", "default": 10},
    }


def s3_client(module, concurrency=2):
    """An S3 client from amazon.aws's connection options, with a connection pool for the parallel parts."""
    import botocore.config  # pylint: disable=import-outside-toplevel

    return module.client("s3", config=botocore.config.Config(max_pool_connections=max(10, concurrency + 2)))


def _interrupt(signum, _frame):
    raise Interrupted("interrupted by signal %d" % signum)


def run(module, work):
    """Run ``work()`` and exit with its result; a BackupError or an interruption fails the task with its message."""
    prefix = module.params.get("prefix")
    if prefix and not prefix.endswith("/"):
        module.fail_json(msg="prefix=%s must be a folder ending in / (%s/), or empty for the top of the bucket" % (prefix, prefix))
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    try:
        result = work()
    except BackupError as exc:
        module.fail_json(msg=exc.msg, **exc.details)
    except Interrupted as exc:
        module.fail_json(msg="%s; the work in progress was undone" % exc)
    except Exception as exc:  # pylint: disable=broad-except
        # An S3 or PostgreSQL error no step turned into a BackupError: still a message, never a traceback.
        what = "s3://%s/%s" % (module.params.get("bucket"), module.params.get("prefix") or "")
        if module.params.get("db"):
            what += ", database %s" % module.params["db"]
        module.fail_json(msg="%s failed on %s: %s" % (module._name, what, error_text(exc)))  # pylint: disable=protected-access
    module.exit_json(**result)


def error_text(exc):
    """S3's ``Code: message``, PostgreSQL's own text, or the exception's."""
    if getattr(exc, "pgerror", None):
        return exc.pgerror.strip()
    return client_error_text(exc) if getattr(exc, "response", None) else "%s: %s" % (type(exc).__name__, exc)
