# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""PostgreSQL for the backup modules: connections (community.postgresql's option names), the exported snapshot
and the row counts taken in it, and the catalog queries that decide whether a database is empty."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

try:
    import psycopg2
    from psycopg2 import sql
    HAS_PSYCOPG2 = True
    PSYCOPG2_IMPORT_ERROR = None
except ImportError as import_error:  # pragma: no cover - reported by the modules
    psycopg2 = None
    sql = None
    HAS_PSYCOPG2 = False
    PSYCOPG2_IMPORT_ERROR = import_error

from ansible_collections.loyalty.platform.plugins.module_utils.backup.errors import BackupError

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")
# Schemas the server makes itself: pg_toast, pg_temp_N, pg_toast_temp_N.
SYSTEM_SCHEMA_FILTER = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'"

# Every table whose rows pg_dump writes: plain tables (partitions included: a partitioned parent holds no rows of its
# own, so counting it would scan its partitions twice) outside the system schemas, not owned by an extension (an
# extension's tables come back with CREATE EXTENSION, not with the data).
TABLES_QUERY = """
SELECT n.nspname, c.relname, c.relkind
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'r' AND %s
  AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY n.nspname, c.relname
""" % SYSTEM_SCHEMA_FILTER

# Anything a restore would overwrite: relations (tables, sequences, views, ...), functions, types and schemas of
# our own, and extensions other than plpgsql (which every new database has).
USER_OBJECTS_QUERY = """
SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE %(filter)s
UNION ALL SELECT 'function ' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE %(filter)s
UNION ALL SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
  WHERE %(filter)s AND t.typrelid = 0 AND t.typelem = 0
UNION ALL SELECT 'schema ' || n.nspname FROM pg_namespace n WHERE %(filter)s AND n.nspname <> 'public'
UNION ALL SELECT 'extension ' || e.extname FROM pg_extension e WHERE e.extname <> 'plpgsql'
UNION ALL SELECT 'large object ' || m.oid FROM pg_largeobject_metadata m
UNION ALL SELECT 'collation ' || n.nspname || '.' || c.collname FROM pg_collation c JOIN pg_namespace n ON n.oid = c.collnamespace
  WHERE %(filter)s
UNION ALL SELECT 'operator ' || n.nspname || '.' || o.oprname FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
  WHERE %(filter)s
UNION ALL SELECT 'operator family ' || n.nspname || '.' || f.opfname FROM pg_opfamily f JOIN pg_namespace n ON n.oid = f.opfnamespace
  WHERE %(filter)s
UNION ALL SELECT 'text search configuration ' || n.nspname || '.' || t.cfgname FROM pg_ts_config t
  JOIN pg_namespace n ON n.oid = t.cfgnamespace WHERE %(filter)s
UNION ALL SELECT 'text search dictionary ' || n.nspname || '.' || t.dictname FROM pg_ts_dict t
  JOIN pg_namespace n ON n.oid = t.dictnamespace WHERE %(filter)s
UNION ALL SELECT 'conversion ' || n.nspname || '.' || c.conname FROM pg_conversion c JOIN pg_namespace n ON n.oid = c.connamespace
  WHERE %(filter)s
UNION ALL SELECT 'publication ' || p.pubname FROM pg_publication p
UNION ALL SELECT 'event trigger ' || e.evtname FROM pg_event_trigger e
UNION ALL SELECT 'foreign data wrapper ' || w.fdwname FROM pg_foreign_data_wrapper w
UNION ALL SELECT 'foreign server ' || s.srvname FROM pg_foreign_server s
UNION ALL SELECT 'default privileges of ' || pg_get_userbyid(d.defaclrole) FROM pg_default_acl d
LIMIT 20
""" % {"filter": SYSTEM_SCHEMA_FILTER}


def prefer_passfile(params):
    """An explicit passfile wins over a PGPASSWORD the controller's environment may carry (libpq would read that
    first); only without login_password."""
    if params.get("passfile") and not params.get("login_password"):
        os.environ.pop("PGPASSWORD", None)


def connect_params(params, dbname):
    """psycopg2/libpq keywords from community.postgresql-style options."""
    out = {"dbname": dbname, "connect_timeout": params.get("connect_timeout") or 10, "application_name": "loyalty.platform"}
    for option, keyword in (("login_host", "host"), ("login_unix_socket", "host"), ("login_port", "port"), ("login_user", "user"),
                            ("login_password", "password"), ("ssl_mode", "sslmode"), ("ca_cert", "sslrootcert"),
                            ("passfile", "passfile")):
        value = params.get(option)
        if value not in (None, ""):
            out[keyword] = value
    return out


def libpq_env(params, dbname):
    """The same connection for a libpq program (pg_dump, pg_restore), through its environment only: the password
    never appears on a command line that ``ps`` shows."""
    prefer_passfile(params)
    env = dict(os.environ)
    mapping = {"host": "PGHOST", "port": "PGPORT", "user": "PGUSER", "password": "PGPASSWORD", "dbname": "PGDATABASE",
               "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "passfile": "PGPASSFILE", "connect_timeout": "PGCONNECT_TIMEOUT",
               "application_name": "PGAPPNAME"}
    for keyword, value in connect_params(params, dbname).items():
        env[mapping[keyword]] = str(value)
    return env


def connect(params, dbname, autocommit=True):
    if not HAS_PSYCOPG2:
        raise BackupError("psycopg2 is required on the controller: pip install psycopg2-binary (%s)" % PSYCOPG2_IMPORT_ERROR)
    prefer_passfile(params)
    try:
        conn = psycopg2.connect(**connect_params(params, dbname))
    except psycopg2.Error as exc:
        raise BackupError("cannot connect to database %s at %s:%s as %s: %s" % (
            dbname, params.get("login_host") or params.get("login_unix_socket") or "the default host",
            params.get("login_port") or 5432, params.get("login_user") or "the default user", pg_error_text(exc))) from exc
    conn.autocommit = autocommit
    return conn


def pg_error_text(exc):
    return (getattr(exc, "pgerror", None) or str(exc)).strip()


def find_program(name, path=None):
    """``path`` if given, else the program on PATH, else the newest under /usr/lib/postgresql/*/bin."""
    if path:
        if not os.access(path, os.X_OK):
            raise BackupError("%s is not an executable %s: fix the %s_path option" % (path, name, name))
        return path
    found = shutil.which(name)
    if found:
        return found
    root = "/usr/lib/postgresql"
    versions = sorted((v for v in os.listdir(root) if v.isdigit()), key=int, reverse=True) if os.path.isdir(root) else []
    for version in versions:
        candidate = os.path.join(root, version, "bin", name)
        if os.access(candidate, os.X_OK):
            return candidate
    raise BackupError("%s was not found on PATH: install the PostgreSQL client (postgresql-client) or set %s_path" % (name, name))


def program_version(program):
    """``15.18`` of ``pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)``."""
    # Called from module_utils without the module at hand; the output is one line.
    proc = subprocess.run([program, "--version"], capture_output=True, text=True, check=False)  # pylint: disable=ansible-bad-function
    match = re.search(r"\(PostgreSQL\) (\S+)", proc.stdout)
    return match.group(1) if match else (proc.stdout.strip() or None)


def qualified(schema, table):
    return "%s.%s" % (schema, table)


def list_tables(cur):
    cur.execute(TABLES_QUERY)
    return [tuple(row) for row in cur.fetchall()]


def count_rows(cur, tables):
    """Exact row counts (``count(*)``) of ``tables``; a partitioned table counts its partitions' rows, as it reads back."""
    counts = {}
    for schema, table, _kind in tables:
        cur.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table)))
        counts[qualified(schema, table)] = cur.fetchone()[0]
    return counts


class Snapshot:
    """A repeatable-read transaction whose snapshot is exported for ``pg_dump --snapshot``: the counts taken in it
    are the counts of the dump, whatever is committed meanwhile. The transaction stays open until ``close()``."""

    def __init__(self, params, dbname):
        self.conn = connect(params, dbname, autocommit=False)
        self.conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        self.cur = self.conn.cursor()
        # The transaction sits idle while pg_dump runs: a server-wide idle-in-transaction timeout must not end it (and the
        # exported snapshot with it) under a long dump.
        self.cur.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
        self.cur.execute("SELECT pg_export_snapshot(), current_setting('server_version'), pg_database_size(current_database())")
        self.snapshot_id, self.server_version, self.database_size = self.cur.fetchone()

    def tables(self):
        return list_tables(self.cur)

    def counts(self, tables):
        # In a savepoint: an error here (a table the role cannot read, a cancel) must not abort the exporting
        # transaction, for an aborted transaction no longer holds the snapshot and pg_dump, importing it meanwhile,
        # would fail with "could not import the requested snapshot" instead of its own error text.
        self.cur.execute("SAVEPOINT loyalty_counts")
        try:
            counts = count_rows(self.cur, tables)
        except psycopg2.Error:
            try:
                self.cur.execute("ROLLBACK TO SAVEPOINT loyalty_counts")
            except psycopg2.Error:
                pass
            raise
        self.cur.execute("RELEASE SAVEPOINT loyalty_counts")
        return counts

    def close(self):
        """End the transaction; a connection the server has already closed (a failover, a timeout) is not an error here:
        whatever happened to the dump has been reported, or the backup is already committed."""
        try:
            self.conn.rollback()
        except psycopg2.Error:
            pass
        finally:
            self.conn.close()


def database_info(cur, name):
    """(owner, encoding, collate, ctype) of database ``name``, or None when it does not exist."""
    cur.execute("SELECT pg_get_userbyid(datdba), pg_encoding_to_char(encoding), datcollate, datctype FROM pg_database "
                "WHERE datname = %s", (name,))
    return cur.fetchone()


def inspect_objects(params, dbname):
    """Up to 20 objects of our own in ``dbname`` (empty for a fresh database), and the pid of the session that looked.

    A backend goes on being listed in pg_stat_activity for a moment after its client has closed the connection,
    so a check for open sessions right after this one must leave that pid out (see ``sessions``)."""
    conn = connect(params, dbname)
    try:
        with conn.cursor() as cur:
            cur.execute(USER_OBJECTS_QUERY)
            objects = [row[0] for row in cur.fetchall()]
            cur.execute("SELECT pg_backend_pid()")
            return objects, cur.fetchone()[0]
    finally:
        conn.close()


def user_objects(params, dbname):
    """Up to 20 objects of our own in ``dbname`` (empty for a fresh database)."""
    return inspect_objects(params, dbname)[0]


def sessions(cur, name, ignore=()):
    """Other sessions connected to database ``name``: (pid, user, application, client), leaving out the pids in ``ignore``
    (our own sessions just closed)."""
    cur.execute("SELECT pid, usename, application_name, client_addr::text FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid() AND NOT pid = ANY(%s)", (name, [int(pid) for pid in ignore]))
    return cur.fetchall()


def ident(name):
    return sql.Identifier(name)
