#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_backup_rotate
short_description: Delete the PostgreSQL backups in S3 that a retention policy no longer keeps, never the last good one
version_added: 0.2.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Candidates are the keys directly under O(prefix) whose name matches O(pattern); nothing else is ever touched. A backup's
    time is the UTC stamp in its name, not the object's LastModified.
  - The rules are ORed. O(keep_last) keeps the newest N; O(keep_days) everything newer than O(reference_time) minus N days;
    O(keep_daily), O(keep_weekly) (ISO weeks), O(keep_monthly) and O(keep_yearly), walking from newest to oldest, the newest
    backup of each of the N most recent UTC periods that contain one. With no rule at all the module refuses and deletes nothing.
  - Only complete backups (with a manifest) count toward the rules, and the newest O(min_keep) complete backups are always kept;
    their manifests are read to prove them complete (the size they record is the object's). Older backups count by their
    manifest's presence, so the listing alone decides (one GET per backup would cost 10,000 requests for 10,000 backups);
    M(loyalty.platform.s3_backup_info) with its C(verify) option proves each one.
    A manifest that cannot be read (other than missing) fails the task, deleting nothing.
  - Backups dated after O(reference_time) are kept, take no part in the rules, and are reported. A backup without a manifest
    is never counted and is deleted only once older than O(incomplete_grace), so an upload being committed is never removed
    under it; multipart uploads older than the grace are aborted.
  - If the run would delete more than O(max_delete) backups it fails and deletes nothing.
  - Deletes each backup with its manifest, in DeleteObjects requests of at most 1000 keys, and reports per-key errors.
extends_documentation_fragment:
  - loyalty.platform.backup
  - loyalty.platform.backup.pattern
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Deletes nothing and returns exactly what a real run would delete.
  diff_mode:
    support: full
    details: The backups before and after.
  platform:
    platforms: posix
options:
  keep_last:
    description: Keep the newest N complete backups.
    type: int
  keep_days:
    description: Keep every complete backup newer than O(reference_time) minus N days.
    type: int
  keep_daily:
    description: Keep the newest backup of each of the N most recent UTC days that have one.
    type: int
  keep_weekly:
    description: Keep the newest backup of each of the N most recent ISO weeks that have one.
    type: int
  keep_monthly:
    description: Keep the newest backup of each of the N most recent months that have one.
    type: int
  keep_yearly:
    description: Keep the newest backup of each of the N most recent years that have one.
    type: int
  min_keep:
    description: The newest N complete backups are kept whatever the rules say.
    type: int
    default: 1
  max_delete:
    description: Fail, deleting nothing, when the run would delete more backups than this. Without it there is no limit.
    type: int
  reference_time:
    description: The time the rules count back from (ISO 8601, UTC unless it carries an offset); now by default.
    type: str
  incomplete_grace:
    description:
      - How old a backup without a manifest, an orphaned manifest or a multipart upload must be before it is removed,
        as V(24h), V(90m), V(2d), V(3600s) or a number of hours.
    type: str
    default: 24h
requirements:
  - boto3
seealso:
  - module: loyalty.platform.postgresql_backup_s3
  - module: loyalty.platform.s3_backup_info
"""

EXAMPLES = r"""
- name: Seven days of daily backups, plus 4 weekly and 6 monthly ones
  loyalty.platform.s3_backup_rotate:
    bucket: loyalty-system-backups
    prefix: database/
    keep_days: 7
    keep_weekly: 4
    keep_monthly: 6
    max_delete: 10

- name: What would go
  loyalty.platform.s3_backup_rotate:
    bucket: loyalty-system-backups
    prefix: database/
    keep_last: 14
  check_mode: true
  register: preview
"""

RETURN = r"""
bucket:
  description: The bucket.
  returned: always
  type: str
prefix:
  description: The prefix.
  returned: always
  type: str
deleted:
  description: The backups deleted (in check mode, that would be), newest first, each with C(key), C(time) and C(reason)
    (C(expired), C(incomplete) or C(mismatch)).
  returned: always
  type: list
  elements: dict
kept:
  description: The backups kept, newest first, each with C(key), C(time) and the C(rules) that kept it (C(min_keep),
    C(keep_last), C(keep_days), C(keep_daily), C(keep_weekly), C(keep_monthly), C(keep_yearly), C(future), C(incomplete_grace)).
  returned: always
  type: list
  elements: dict
future:
  description: Backups dated after the reference time (kept, not counted).
  returned: always
  type: list
  elements: str
deleted_keys:
  description: Every key deleted (or that would be), manifests included.
  returned: always
  type: list
  elements: str
orphan_manifests:
  description: Manifests without a backup object, older than the grace, deleted.
  returned: always
  type: list
  elements: str
aborted_uploads:
  description: Multipart uploads older than the grace that were aborted (C(key), C(upload_id), C(initiated)).
  returned: always
  type: list
  elements: dict
reference_time:
  description: The reference time used (UTC).
  returned: always
  type: str
others:
  description: Objects directly under the prefix that are not candidates (never touched).
  returned: always
  type: int
errors:
  description: Per-key errors of DeleteObjects (C(key), C(code), C(message)).
  returned: failure
  type: list
  elements: dict
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.loyalty.platform.plugins.module_utils.backup.module import location_spec, run, s3_client
from ansible_collections.loyalty.platform.plugins.module_utils.backup.rotate import rotate


def main():
    argument_spec = location_spec()
    argument_spec.update(
        keep_last={"type": "int"},
        keep_days={"type": "int"},
        keep_daily={"type": "int"},
        keep_weekly={"type": "int"},
        keep_monthly={"type": "int"},
        keep_yearly={"type": "int"},
        min_keep={"type": "int", "default": 1},
        max_delete={"type": "int"},
        reference_time={"type": "str"},
        incomplete_grace={"type": "str", "default": "24h"},
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)

    def work():
        result = rotate(module.params, s3_client(module), check_mode=module.check_mode)
        if not module._diff:  # pylint: disable=protected-access
            result.pop("diff")
        return result

    run(module, work)


if __name__ == "__main__":
    main()
