# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Options shared by the backup modules: where the backups are, and how to reach PostgreSQL."""

from __future__ import annotations


class ModuleDocFragment:  # pylint: disable=too-few-public-methods
    """Doc fragments of the backup module family."""

    # The S3 location of a backup set.
    DOCUMENTATION = r"""
options:
  bucket:
    description:
      - The S3 bucket that holds the backups.
    type: str
    required: true
  prefix:
    description:
      - The folder of the backups in O(bucket), ending in C(/) (for example V(database/)), or empty for the bucket's top.
      - Only objects directly under the prefix are backups; objects in its sub-folders are never read or touched.
    type: str
    default: ""
"""

    # Which names under the prefix are backups (the modules that read a backup set).
    PATTERN = r"""
options:
  pattern:
    description:
      - A regular expression a backup's name (its key without O(prefix)) must match to be a backup, with the named group
        C(stamp) capturing its UTC time as C(%Y%m%d_%H%M%S). Names that do not match are never touched.
      - The default matches exactly the names M(loyalty.platform.postgresql_backup_s3) writes.
    type: str
    default: '^loyalty_backup_(?P<stamp>\d{8}_\d{6})\.dump$'
"""

    # The PostgreSQL connection, with community.postgresql's option names.
    POSTGRES = r"""
options:
  db:
    description:
      - The database.
    type: str
    required: true
    aliases: [login_db]
  login_host:
    description:
      - Host of the PostgreSQL server. Without it (and without O(login_unix_socket)) libpq's default applies.
    type: str
    aliases: [host]
  login_port:
    description:
      - Port of the PostgreSQL server.
    type: int
    default: 5432
    aliases: [port]
  login_user:
    description:
      - The role to connect as.
    type: str
    default: postgres
    aliases: [login]
  login_password:
    description:
      - Its password. It reaches libpq programs through their environment only, never their command line.
      - Omit it to use O(passfile) (or libpq's C(~/.pgpass)).
    type: str
  passfile:
    description:
      - A libpq password file (C(.pgpass) format) to read the password from.
    type: path
  login_unix_socket:
    description:
      - A folder holding the server's Unix socket, used instead of O(login_host).
    type: str
  ssl_mode:
    description:
      - libpq's C(sslmode).
    type: str
    choices: [allow, disable, prefer, require, verify-ca, verify-full]
    default: prefer
  ca_cert:
    description:
      - CA certificate(s) to verify the server with (libpq's C(sslrootcert)).
    type: path
    aliases: [ssl_rootcert]
  connect_timeout:
    description:
      - Seconds to wait for a connection.
    type: int
    default: 10
"""
