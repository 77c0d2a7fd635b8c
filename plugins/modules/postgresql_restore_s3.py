#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: postgresql_restore_s3
short_description: Restore a PostgreSQL backup from S3, proven good before it replaces the target
version_added: 0.2.0
author:
  - Loyalty platform team (@loyalty-platform)
description:
  - Restores the backup O(backup) chooses into O(db), and changes O(db) only after the backup has been proven good.
  - Refuses a target that holds any table, sequence, function, type, schema or extension of its own unless
    O(overwrite=true), and one with open sessions unless O(terminate_connections=true), before downloading anything.
  - Restores into a new staging database beside the target, streaming from S3 into C(pg_restore --exit-on-error) with
    O(jobs=1), or from a temporary file (after checking free disk space) with O(jobs) above 1, since pg_restore cannot read
    a stream in parallel. It then checks the SHA-256 against the manifest and every table's row count against the manifest.
  - Only then swaps the staging database in by renaming, in one transaction. The replaced database is kept as
    C(<db>_before_restore_<UTC stamp>) unless it was empty or O(keep_previous=false).
  - Any failure, a checksum or row count mismatch, or a missing manifest drops the staging database and leaves the target
    exactly as it was.
extends_documentation_fragment:
  - loyalty.platform.backup
  - loyalty.platform.backup.pattern
  - loyalty.platform.backup.postgres
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Chooses the backup and checks the target, then reports what would be restored and kept; nothing is downloaded or changed.
  diff_mode:
    support: none
  platform:
    platforms: posix
options:
  backup:
    description:
      - V(latest) (the newest complete backup), a UTC day as V(YYYYMMDD) (the newest complete backup of that day), or a key.
    type: str
    default: latest
  overwrite:
    description:
      - Replace a target that holds objects of its own.
    type: bool
    default: false
  keep_previous:
    description:
      - Keep the replaced database as C(<db>_before_restore_<UTC stamp>). A replaced database that was empty is never kept.
    type: bool
    default: true
  terminate_connections:
    description:
      - Terminate the target's sessions before the swap. Without it a target with open sessions is refused.
    type: bool
    default: false
  jobs:
    description:
      - pg_restore's parallel jobs. Above 1 the backup is downloaded to a temporary file in O(tmp_dir) first.
    type: int
    default: 1
  tmp_dir:
    description:
      - Folder of the temporary copy when O(jobs) is above 1; the system's temporary folder by default.
    type: path
  maintenance_db:
    description:
      - The database to connect to for creating, renaming and dropping databases.
    type: str
    default: postgres
  owner:
    description:
      - Owner of the restored database when O(db) does not exist yet (otherwise the target's owner is kept).
    type: str
  no_owner:
    description:
      - Restore without the dump's ownership and privileges (C(pg_restore --no-owner --no-privileges)), for a server where the
        dump's roles do not exist.
    type: bool
    default: false
  pg_restore_path:
    description:
      - The pg_restore program; by default the one on C(PATH), else the newest under C(/usr/lib/postgresql).
    type: path
notes:
  - The role needs C(CREATEDB) and must own (or be superuser over) the target to rename it; both are checked before anything
    is downloaded. PostgreSQL 13 or later (C(DROP DATABASE ... WITH (FORCE))).
  - With O(terminate_connections=true) the target refuses new connections (C(ALLOW_CONNECTIONS false)) from the terminate to the
    rename, so a pool that reconnects at once cannot block the swap; a failed swap opens it again.
  - Database-level settings of the replaced database (C(ALTER DATABASE ... SET), database GRANTs) are not carried over;
    pg_restore restores what the dump holds, which without C(--create) is the database's content.
requirements:
  - boto3
  - psycopg2
  - pg_restore (the PostgreSQL client)
seealso:
  - module: loyalty.platform.postgresql_backup_s3
  - module: loyalty.platform.s3_backup_info
"""

EXAMPLES = r"""
- name: Restore the newest backup over the production database
  loyalty.platform.postgresql_restore_s3:
    bucket: loyalty-system-backups
    prefix: database/
    backup: latest
    db: loyalty_production
    overwrite: true
    terminate_connections: true
    login_host: "{{ loyalty_db_host }}"
    login_password: "{{ vault_loyalty_db_admin_password }}"

- name: Rehearse a restore of a given day into a scratch database
  loyalty.platform.postgresql_restore_s3:
    bucket: loyalty-system-backups
    prefix: database/
    backup: "20260131"
    db: loyalty_drill
    jobs: 2
"""

RETURN = r"""
backup:
  description: The backup restored (C(key), C(time), C(size), C(state), C(sha256), ...).
  returned: always
  type: dict
target:
  description: The database restored into.
  returned: always
  type: str
staging:
  description: The staging database's name (renamed to the target on success).
  returned: always
  type: str
previous:
  description: The name the replaced database is kept under, or null when none is kept.
  returned: always
  type: str
replaced:
  description: Whether a database of the target's name existed.
  returned: always
  type: bool
dropped_previous:
  description: The name of the replaced database that was dropped (it was empty, or O(keep_previous=false)).
  returned: success, not in check mode
  type: str
sha256:
  description: The SHA-256 the manifest records, and the download matched.
  returned: always
  type: str
tables:
  description: Row count of every table, as the manifest records them and the restored database has them.
  returned: always
  type: dict
verified:
  description: Whether the checksum and the row counts were proven.
  returned: success, not in check mode
  type: bool
duration:
  description: Seconds from creating the staging database to the swap.
  returned: success, not in check mode
  type: float
"""

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.loyalty.platform.plugins.module_utils.backup.module import location_spec, postgres_spec, run, s3_client
from ansible_collections.loyalty.platform.plugins.module_utils.backup.restore import restore


def main():
    argument_spec = location_spec()
    argument_spec.update(postgres_spec())
    argument_spec.update(
        backup={"type": "str", "default": "latest"},
        overwrite={"type": "bool", "default": False},
        keep_previous={"type": "bool", "default": True},
        terminate_connections={"type": "bool", "default": False},
        jobs={"type": "int", "default": 1},
        tmp_dir={"type": "path"},
        maintenance_db={"type": "str", "default": "postgres"},
        owner={"type": "str"},
        no_owner={"type": "bool", "default": False},
        pg_restore_path={"type": "path"},
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["jobs"] < 1:
        module.fail_json(msg="jobs=%d must be at least 1" % module.params["jobs"])
    if module.params["db"] == module.params["maintenance_db"]:
        module.fail_json(msg="db=%s is also the maintenance_db: restore into another database, or set maintenance_db" % module.params["db"])
    run(module, lambda: restore(module.params, s3_client(module), check_mode=module.check_mode))


if __name__ == "__main__":
    main()
