# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Names of backups and manifests, and the UTC time a name carries."""

from __future__ import annotations

import datetime
import re

from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError

UTC = datetime.timezone.utc
STAMP_FORMAT = "%Y%m%d_%H%M%S"
NAME_FORMAT = "loyalty_backup_" + STAMP_FORMAT + ".dump"
# The default candidates: exactly the names postgresql_backup_s3 writes.
DEFAULT_PATTERN = r"^loyalty_backup_(?P<stamp>\d{8}_\d{6})\.dump$"
MANIFEST_SUFFIX = ".manifest.json"
# S3 limits (https://docs.aws.amazon.com/AmazonS3/latest/userguide/qfacts.html).
MIN_PART_SIZE = 5 * 1024 * 1024
MAX_PART_SIZE = 5 * 1024 * 1024 * 1024
MAX_PARTS = 10000
DELETE_BATCH = 1000
DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 3600}


def parse_duration(value, name):
    """``24h``, ``90m``, ``2d``, ``3600s`` or a bare number of hours."""
    match = DURATION.match(str(value))
    if not match:
        raise BackupError("%s=%r is not a duration: write it as 24h, 90m, 2d or 3600s" % (name, value))
    return datetime.timedelta(seconds=float(match.group(1)) * UNITS[match.group(2)])


def utcnow():
    return datetime.datetime.now(UTC)


def backup_key(prefix, when):
    """``<prefix>loyalty_backup_%Y%m%d_%H%M%S.dump`` with ``when`` converted to UTC first."""
    return (prefix or "") + as_utc(when).strftime(NAME_FORMAT)


def manifest_key(key):
    return key + MANIFEST_SUFFIX


def compile_pattern(pattern):
    """The candidate pattern, which must capture the stamp as the named group ``stamp``."""
    try:
        compiled = re.compile(pattern or DEFAULT_PATTERN)
    except re.error as exc:
        raise BackupError("pattern %r is not a regular expression (%s): fix it, or omit it for the default %s" % (
            pattern, exc, DEFAULT_PATTERN)) from exc
    if "stamp" not in compiled.groupindex:
        raise BackupError("pattern %r has no named group `stamp`: capture the %s time in (?P<stamp>...)" % (pattern, STAMP_FORMAT))
    return compiled


def stamp_of(name, compiled, stamp_format=STAMP_FORMAT):
    """The UTC time in a candidate's name (relative to the prefix), or None when the name is not a candidate."""
    # A `$` in the pattern also matches before a final newline, and an unanchored pattern could match a key in a
    # sub-folder of a store that ignores the delimiter: names with a newline or a slash are never candidates.
    match = compiled.search(name) if "\n" not in name and "/" not in name else None
    if not match:
        return None
    try:
        return datetime.datetime.strptime(match.group("stamp"), stamp_format).replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_day(value):
    """A ``YYYYMMDD`` selector as a date, or None when ``value`` is not one."""
    if not re.match(r"^\d{8}$", value or ""):
        return None
    try:
        return datetime.datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None


def as_utc(when):
    """An aware time in UTC; a naive one is taken as UTC (never as the controller's local time)."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def iso(when):
    """UTC ISO 8601 with a Z, seconds precision."""
    return as_utc(when).strftime("%Y-%m-%dT%H:%M:%SZ") if when else None


def parse_iso(value):
    """Parse an ISO 8601 time (``Z`` or an offset; a naive time is taken as UTC)."""
    if isinstance(value, datetime.datetime):
        when = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            when = datetime.datetime.fromisoformat(text)
        except ValueError as exc:
            raise BackupError("%r is not an ISO 8601 time: write it as 2026-01-31T23:00:00Z" % (value,)) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)
