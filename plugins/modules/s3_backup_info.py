#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_backup_info
short_description: List the PostgreSQL backups in S3, choose one, and verify checksums
version_added: 0.2.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Lists the backups directly under O(prefix) with their UTC times (from their names), sizes and states.
    C(complete) means the manifest exists and its size is the object's; C(incomplete), that there is no manifest (the
    upload was never committed); C(mismatch), that the manifest disagrees with the object or cannot be read.
  - With O(backup), chooses one backup (as M(loyalty.platform.postgresql_restore_s3) would) and fails if none matches.
  - With O(verify=true), downloads the chosen backup (or, without O(backup), every backup that has a manifest, or the newest
    O(verify_newest) of them) and checks its SHA-256 against the manifest, streaming, so silent corruption is found before a
    restore needs it. A backup that fails verification (a C(mismatch) one always does) fails the task, naming it.
  - An S3 error other than a missing manifest fails the task; nothing is concluded from a manifest that could not be read.
  - Never changes anything.
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
    details: The module only reads; check mode lists and verifies the same way.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  backup:
    description:
      - V(latest) (the newest complete backup), a UTC day as V(YYYYMMDD) (the newest complete backup of that day), or a key
        (with or without O(prefix)).
    type: str
  verify:
    description:
      - Download and check the SHA-256 of the chosen backup, or of every backup (the newest O(verify_newest)) without O(backup).
    type: bool
    default: false
  verify_newest:
    description:
      - Without O(backup), verify only this many of the newest backups.
    type: int
requirements:
  - boto3
seealso:
  - module: loyalty.platform.postgresql_backup_s3
  - module: loyalty.platform.postgresql_restore_s3
"""

EXAMPLES = r"""
- name: The newest complete backup, verified
  loyalty.platform.s3_backup_info:
    bucket: loyalty-system-backups
    prefix: database/
    backup: latest
    verify: true
  register: newest

- name: Check the seven newest backups every week
  loyalty.platform.s3_backup_info:
    bucket: loyalty-system-backups
    prefix: database/
    verify: true
    verify_newest: 7
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
backups:
  description: Every backup under the prefix, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: The object key.
      type: str
    time:
      description: The UTC time in its name (ISO 8601).
      type: str
    size:
      description: Size in bytes.
      type: int
    last_modified:
      description: When S3 last wrote the object (UTC).
      type: str
    state:
      description: C(complete), C(incomplete) or C(mismatch).
      type: str
    manifest_key:
      description: Its manifest's key.
      type: str
    sha256:
      description: The SHA-256 the manifest records.
      type: str
    database:
      description: The database the manifest records.
      type: str
    problem:
      description: Why it is not complete.
      type: str
    verified:
      description: Whether its download matched the manifest (only for verified backups).
      type: bool
selected:
  description: The backup O(backup) chose (same keys as RV(backups)), or null.
  returned: always
  type: dict
verified:
  description: The outcome of each verification (C(key), C(ok), C(sha256), C(expected_sha256), C(size), C(problem)).
  returned: always
  type: list
  elements: dict
counts:
  description: How many backups are C(complete), C(incomplete) and C(mismatch).
  returned: always
  type: dict
others:
  description: How many objects directly under the prefix are not backups (never touched).
  returned: always
  type: int
orphan_manifests:
  description: Manifests whose backup object is missing.
  returned: always
  type: list
  elements: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.loyalty.platform.plugins.module_utils.backup.info import backup_info
from ansible_collections.loyalty.platform.plugins.module_utils.backup.module import location_spec, run, s3_client


def main():
    argument_spec = location_spec()
    argument_spec.update(
        backup={"type": "str"},
        verify={"type": "bool", "default": False},
        verify_newest={"type": "int"},
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True, mutually_exclusive=[("backup", "verify_newest")])
    if module.params["verify_newest"] is not None and module.params["verify_newest"] < 1:
        module.fail_json(msg="verify_newest=%d must be at least 1 (omit it to verify every backup)" % module.params["verify_newest"])
    run(module, lambda: backup_info(module.params, s3_client(module)))


if __name__ == "__main__":
    main()
