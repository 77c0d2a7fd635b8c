"""RDS: where moto 5's DB instances answer otherwise than the RDS API reference says."""

import os
import uuid

from moto.rds.exceptions import InvalidParameterValue
from moto.rds.models import DBInstance, RDSBackend

from .patching import add, wrap
from .pending import hold, linger

# PerformanceInsightsRetentionPeriod when Performance Insights is enabled without one: 7 days (the free tier).
DEFAULT_PI_RETENTION = 7
# MasterUserPassword's length by engine (CreateDBInstance in the RDS API reference); 8 characters at least for all.
PASSWORD_MIN = 8
PASSWORD_MAX = {"mariadb": 41, "mysql": 41, "oracle": 30, "db2": 255, "sqlserver": 128, "postgres": 128}
PASSWORD_FORBIDDEN = "/\"@ "


def password_max(engine):
    for prefix, longest in PASSWORD_MAX.items():
        if (engine or "").startswith(prefix):
            return longest
    return 128


def password_problem(password, engine):
    """RDS's InvalidParameterValue message for a MasterUserPassword it refuses, or None."""
    if len(password) < PASSWORD_MIN:
        return "The parameter MasterUserPassword is not a valid password because it is shorter than %d characters." % PASSWORD_MIN
    longest = password_max(engine)
    if len(password) > longest:
        return "The parameter MasterUserPassword is not a valid password because it is longer than %d characters." % longest
    if any(not 32 <= ord(char) <= 126 or char in PASSWORD_FORBIDDEN for char in password):
        return "The parameter MasterUserPassword is not a valid password. Only printable ASCII characters besides '/', '@', '\"', ' ' may be used."
    return None


def fix_performance_insights():
    """DescribeDBInstances returns ``PerformanceInsightsEnabled`` (false unless CreateDBInstance or ModifyDBInstance
    enabled it) and, while it is enabled, ``PerformanceInsightsRetentionPeriod`` (7 days unless set) and
    ``PerformanceInsightsKMSKeyId`` (the account's aws/rds key unless set). moto drops EnablePerformanceInsights and its
    settings, so amazon.aws.rds_instance with enable_performance_insights=true sees it off and modifies the instance on
    every run: changed forever."""

    @wrap(DBInstance, "__init__")
    def __init__(original, self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.enable_performance_insights = bool(kwargs.get("enable_performance_insights"))
        # A restored or replicated instance gets the source's attributes as keywords: its settings carry over.
        self.performance_insights_retention_period = kwargs.get("performance_insights_retention_period", kwargs.get("_motofix_pi_retention"))
        self.performance_insights_kms_key_id = kwargs.get("performance_insights_kms_key_id", kwargs.get("_motofix_pi_kms_key"))

    @add(DBInstance, "performance_insights_enabled")
    @property
    def performance_insights_enabled(self):
        return bool(getattr(self, "enable_performance_insights", False))

    def get_retention(self):
        if not self.performance_insights_enabled:
            return None
        return self.__dict__.get("_motofix_pi_retention") or DEFAULT_PI_RETENTION

    def set_retention(self, value):
        self.__dict__["_motofix_pi_retention"] = value

    def get_kms_key(self):
        if not self.performance_insights_enabled:
            return None
        key_id = self.__dict__.get("_motofix_pi_kms_key")
        if key_id:
            return key_id
        # The aws/rds key: one per account and region, the same ARN whichever instance asks.
        key = uuid.uuid5(uuid.NAMESPACE_URL, "aws/rds:%s:%s" % (self.account_id, self.region))
        return "arn:%s:kms:%s:%s:key/%s" % (self.partition, self.region, self.account_id, key)

    def set_kms_key(self, value):
        self.__dict__["_motofix_pi_kms_key"] = value

    DBInstance.performance_insights_retention_period = property(get_retention, set_retention)
    DBInstance.performance_insights_kms_key_id = property(get_kms_key, set_kms_key)


def fix_master_user_password():
    """MasterUserPassword: 8 characters at least and at most 41 (MySQL, MariaDB), 30 (Oracle) or 128 (PostgreSQL, SQL
    Server), printable ASCII but for "/", '"', "@" and the space; RDS refuses any other with InvalidParameterValue, in
    CreateDBInstance as in ModifyDBInstance. moto takes any password for a DB instance (it checks DB clusters' only)."""
    original = DBInstance.__dict__.get("master_user_password")

    def get_password(self):
        if original is not None and original.fget is not None:
            return original.fget(self)
        return self.__dict__.get("_master_user_password")

    def set_password(self, value):
        if value is not None:
            problem = password_problem(str(value), getattr(self, "engine", None))
            if problem:
                raise InvalidParameterValue(problem)
        if original is not None and original.fset is not None:
            original.fset(self, value)
        else:
            self.__dict__["_master_user_password"] = value

    DBInstance.master_user_password = property(get_password, set_password)

    @wrap(RDSBackend, "modify_db_instance")
    def modify_db_instance(original_modify, self, db_instance_identifier, db_kwargs):
        password = db_kwargs.get("master_user_password")
        if password is not None:
            database = self.describe_db_instances(db_instance_identifier)[0]
            problem = password_problem(str(password), database.engine)
            if problem:
                raise InvalidParameterValue(problem)
        return original_modify(self, db_instance_identifier, db_kwargs)


def fix_pending_states():
    """A DB instance is ``creating`` after CreateDBInstance, ``modifying`` after ModifyDBInstance and ``deleting`` after
    DeleteDBInstance until RDS is done (then ``available``, or DBInstanceNotFound once deleted). moto is available at
    once and forgets a deleted instance at once; with an rds delay (motofix.pending) these states last that long."""

    @wrap(RDSBackend, "create_db_instance")
    def create_db_instance(original, self, db_kwargs):
        database = original(self, db_kwargs)
        hold("rds", "create", database, "status", "creating", "available")
        return database

    @wrap(RDSBackend, "modify_db_instance")
    def modify_db_instance(original, self, db_instance_identifier, db_kwargs):
        database = original(self, db_instance_identifier, db_kwargs)
        hold("rds", "modify", database, "status", "modifying", "available")
        return database

    @wrap(RDSBackend, "delete_db_instance")
    def delete_db_instance(original, self, db_instance_identifier, *args, **kwargs):
        database = original(self, db_instance_identifier, *args, **kwargs)
        linger("rds", self.databases, db_instance_identifier, database, "status", "deleting")
        return database


def fix_adjacent_windows():
    """A backup window that ends when the maintenance window starts (03:00-04:00 and sun:04:00-sun:05:00, the windows
    of the reference Terraform) does not overlap it, and RDS accepts the pair: "must not overlap" forbids a shared
    stretch of time, not a shared boundary. moto 5.2 counts an overlap of zero seconds as one (``>= 0``) and refuses
    CreateDBInstance and ModifyDBInstance with InvalidParameterValue. The check is moto's own, with a boundary not
    counted as overlap."""
    from moto.rds import models, utils  # pylint: disable=import-outside-toplevel

    measured = utils.get_overlap_between_two_date_ranges

    def overlap_without_boundary(start_1, end_1, start_2, end_2):
        seconds = measured(start_1, end_1, start_2, end_2)
        # moto asks ">= 0"; a shared boundary measures 0 and is no overlap, so it is reported as apart.
        return -1 if seconds == 0 else seconds

    utils.get_overlap_between_two_date_ranges = overlap_without_boundary
    models.valid_preferred_maintenance_window = utils.valid_preferred_maintenance_window


def gp3_baseline(allocated):
    """(Iops, StorageThroughput) RDS gives gp3 storage without its own, for PostgreSQL, MySQL and MariaDB: 3,000 IOPS and
    125 MiB/s under 400 GiB, 12,000 IOPS and 500 MiB/s from 400 GiB. (Oracle's and SQL Server's thresholds differ and are
    not modelled.)"""
    return (12000, 500) if int(allocated or 0) >= 400 else (3000, 125)


def fix_gp3_baseline():
    """A gp3 DB instance always has ``Iops`` and ``StorageThroughput`` in DescribeDBInstances: the baseline of its
    size unless set. moto 5.2 leaves both out, and amazon.aws.rds_instance, which reads them for gp3, fails on its
    second run with KeyError 'StorageThroughput'."""

    @wrap(DBInstance, "__init__")
    def __init__(original, self, *args, **kwargs):
        original(self, *args, **kwargs)
        if self.storage_type == "gp3":
            iops, throughput = gp3_baseline(self.allocated_storage)
            self.iops = self.iops or iops
            self.storage_throughput = self.storage_throughput or throughput


# The address a PostgreSQL DB instance's endpoint names, given by sandbox/ctl.py: a pod-network address whose port 5432
# the sandbox relays to its own PostgreSQL (see ctl.py's RDS_SERVICE). Unset, moto's name is kept.
ENDPOINT_ADDRESS_VARIABLE = "MOTOFIX_RDS_ENDPOINT_ADDRESS"


def fix_endpoint_address():
    """A DB instance's ``Endpoint.Address`` is a DNS name that resolves, inside its VPC, to the instance, where the
    engine answers on ``Endpoint.Port``. moto names a host under rds.amazonaws.com that resolves nowhere, so nothing can
    connect to what it reports. With MOTOFIX_RDS_ENDPOINT_ADDRESS set, a PostgreSQL instance's endpoint is that address
    (the port stays the one requested), where the sandbox's PostgreSQL answers: a client that takes the endpoint from
    DescribeDBInstances reaches a real server, as it would on AWS."""

    original = DBInstance.address

    def address(self):
        sandbox_address = os.environ.get(ENDPOINT_ADDRESS_VARIABLE)
        if sandbox_address and (self.engine or "").startswith("postgres"):
            return sandbox_address
        return original.fget(self)

    DBInstance.address = property(address)


CORRECTIONS = (fix_performance_insights, fix_master_user_password, fix_adjacent_windows, fix_gp3_baseline, fix_pending_states,
               fix_endpoint_address)
