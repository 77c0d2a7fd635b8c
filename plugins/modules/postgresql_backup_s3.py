#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postgresql_backup_s3
short_description: Stream a pg_dump of a PostgreSQL database into S3, checksummed and committed by a manifest
version_added: 0.2.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Runs C(pg_dump) in custom format and streams its output into an S3 multipart upload, with no temporary file. Memory
    stays within O(part_size) times (O(upload_concurrency) + 1) whatever the size of the database.
  - The SHA-256 of the dump is computed while it streams. The object is written to
    C(<prefix>loyalty_backup_%Y%m%d_%H%M%S.dump), stamped in UTC whatever the controller's time zone.
  - The manifest C(<key>.manifest.json) is written last, once the upload has completed, and is the backup's commit marker.
    It holds C(sha256), C(size), C(part_size), C(database), C(server_version), C(pg_dump_version), C(started) and C(finished)
    (UTC, ISO 8601) and C(tables), the row count of every table in the very snapshot the dump used (the module exports a
    snapshot from a repeatable-read transaction, counts in it, and hands it to C(pg_dump --snapshot)).
  - On any failure (pg_dump exits non-zero or is killed, a part upload fails, the task is interrupted) the multipart upload
    is aborted, no object and no manifest remain, and the task fails with pg_dump's own error text or the S3 error.
  - The password reaches pg_dump through its environment, never its command line.
extends_documentation_fragment:
  - loyalty.platform.backup
  - loyalty.platform.backup.postgres
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Runs nothing and returns the key the backup would be written to.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  compression_level:
    description:
      - pg_dump's C(--compress) level, 0 (none) to 9.
    type: int
    default: 9
  part_size:
    description:
      - Size in bytes of each part of the multipart upload; at least S3's minimum of 5 MiB.
      - Grown automatically when the database is so large that the dump could exceed S3's 10,000 parts.
    type: int
    default: 8388608
  upload_concurrency:
    description:
      - How many parts are uploaded at once.
    type: int
    default: 2
  encryption:
    description:
      - Server-side encryption of the backup and its manifest.
    type: str
    choices: [AES256, "aws:kms"]
    default: AES256
  encryption_kms_key_id:
    description:
      - The KMS key for O(encryption=aws:kms); without it S3's default key for the bucket is used.
    type: str
  min_interval:
    description:
      - Take no backup when the newest complete backup under O(prefix) is younger than this (V(24h), V(90m), V(2d), V(3600s), or
        hours), so a repeated or retried run does not take a second one; V(0) always backs up.
    type: str
    default: "0"
  pg_dump_path:
    description:
      - The pg_dump program; by default the one on C(PATH), else the newest under C(/usr/lib/postgresql).
      - Its major version must be at least the server's.
    type: path
notes:
  - The role needs C(SELECT) on every table it dumps (C(pg_read_all_data) in PostgreSQL 14 and later).
requirements:
  - boto3
  - psycopg2
  - pg_dump (the PostgreSQL client)
seealso:
  - module: loyalty.platform.s3_backup_info
  - module: loyalty.platform.s3_backup_rotate
  - module: loyalty.platform.postgresql_restore_s3
"""

EXAMPLES = r"""
- name: Back up the loyalty database
  loyalty.platform.postgresql_backup_s3:
    bucket: loyalty-system-backups
    prefix: database/
    db: loyalty_production
    login_host: "{{ loyalty_db_host }}"
    login_user: "{{ vault_loyalty_db_username }}"
    login_password: "{{ vault_loyalty_db_password }}"
  register: backup

- name: Back up with a KMS key and larger parts
  loyalty.platform.postgresql_backup_s3:
    bucket: loyalty-system-backups
    prefix: database/
    db: loyalty_production
    passfile: /etc/loyalty/pgpass
    encryption: aws:kms
    encryption_kms_key_id: alias/loyalty-backups
    part_size: 67108864
    upload_concurrency: 4
"""

RETURN = r"""
key:
  description: The backup's key.
  returned: always
  type: str
  sample: database/loyalty_backup_20260131_230000.dump
manifest_key:
  description: The manifest's key.
  returned: always
  type: str
  sample: database/loyalty_backup_20260131_230000.dump.manifest.json
bucket:
  description: The bucket.
  returned: always
  type: str
database:
  description: The database dumped.
  returned: always
  type: str
sha256:
  description: SHA-256 of the backup object.
  returned: success, not in check mode
  type: str
size:
  description: Size of the backup object in bytes.
  returned: success, not in check mode
  type: int
part_size:
  description: The part size used (after any automatic growth for a large database).
  returned: success, not in check mode
  type: int
parts:
  description: How many parts were uploaded.
  returned: success, not in check mode
  type: int
started_at:
  description: When the dump started (UTC, ISO 8601); the time in the key.
  returned: success, not in check mode
  type: str
finished_at:
  description: When the upload completed (UTC, ISO 8601).
  returned: success, not in check mode
  type: str
finished_timestamp:
  description: RV(finished_at) in seconds since the epoch (for a Pushgateway metric).
  returned: success, not in check mode
  type: int
fresh_backup:
  description: Why no backup was taken (O(min_interval)); RV(key) is then the existing backup's.
  returned: when a complete backup is younger than O(min_interval)
  type: str
duration:
  description: Seconds from the snapshot to the manifest.
  returned: success, not in check mode
  type: float
tables:
  description: Row count of every table (C(schema.table)) in the dump's snapshot.
  returned: success, not in check mode
  type: dict
  sample: {"public.users": 1200, "public.points": 48000}
server_version:
  description: The server's version.
  returned: success, not in check mode
  type: str
pg_dump_version:
  description: pg_dump's version.
  returned: success, not in check mode
  type: str
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.loyalty.platform.plugins.module_utils.backup import dump
from ansible_collections.loyalty.platform.plugins.module_utils.backup.module import location_spec, postgres_spec, run, s3_client


def main():
    argument_spec = location_spec(pattern=False)
    argument_spec.update(postgres_spec())
    argument_spec.update(
        compression_level={"type": "int", "default": 9},
        part_size={"type": "int", "default": 8 * 1024 * 1024},
        upload_concurrency={"type": "int", "default": 2},
        encryption={"type": "str", "default": "AES256", "choices": ["AES256", "aws:kms"]},
        encryption_kms_key_id={"type": "str"},
        pg_dump_path={"type": "path"},
        min_interval={"type": "str", "default": "0"},
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not 0 <= params["compression_level"] <= 9:
        module.fail_json(msg="compression_level=%d must be between 0 (none) and 9" % params["compression_level"])
    if params["upload_concurrency"] < 1:
        module.fail_json(msg="upload_concurrency=%d must be at least 1" % params["upload_concurrency"])
    run(module, lambda: dump.backup(params, s3_client(module, params["upload_concurrency"]), check_mode=module.check_mode))


if __name__ == "__main__":
    main()
