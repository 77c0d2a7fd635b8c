"""In-memory EC2 (flow logs and their tags) and EKS (cluster logging and updates) that answer as AWS documents,
recording every call, for the aws_gaps unit tests."""

import copy
import datetime
import itertools

from botocore.exceptions import ClientError

from ansible_collections.loyalty.platform.plugins.module_utils.aws_gaps.flow_logs import DEFAULT_LOG_FORMAT

ROLE = "arn:aws:iam::123456789012:role/flow-logs"
OTHER_ROLE = "arn:aws:iam::123456789012:role/other-flow-logs"
VPC = "vpc-0a1b2c3d4e5f60718"
GROUP = "/aws/vpc/loyalty/flow-logs"
BUCKET_ARN = "arn:aws:s3:::loyalty-flow-logs/vpc/"
WRITES = {"create_flow_logs", "delete_flow_logs", "create_tags", "delete_tags", "update_cluster_config"}
EPOCH = datetime.datetime(2026, 3, 1, tzinfo=datetime.timezone.utc)


def client_error(code, message, operation):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)


class Recorder:
    def __init__(self):
        self.calls = []

    def record(self, operation, **kwargs):
        self.calls.append((operation, copy.deepcopy(kwargs)))

    def names(self):
        return [name for name, _kwargs in self.calls]

    def writes(self):
        return [name for name in self.names() if name in WRITES]


class FakePaginator:
    def __init__(self, client, name):
        self.client, self.name = client, name

    def paginate(self, **kwargs):
        return [getattr(self.client, self.name)(**kwargs)]


class FakeEC2(Recorder):
    """Flow logs as AWS keeps them: at most two per resource (FlowLogsLimitExceeded beyond), a second one with the
    same destination and configuration reported in Unsuccessful, LogDestination filled in for log groups."""

    def __init__(self):
        super().__init__()
        self.flow_logs = {}
        self.ids = itertools.count(1)
        self.fail = {}  # operation -> ClientError to raise once
        self.unsuccessful = {}  # operation -> Unsuccessful items to answer once

    def _maybe_fail(self, name):
        if name in self.fail:
            raise self.fail.pop(name)

    def get_paginator(self, name):
        return FakePaginator(self, name)

    def add(self, **entry):
        """A flow log that already exists (DescribeFlowLogs keys)."""
        flow_log_id = "fl-%017d" % next(self.ids)
        base = {"FlowLogId": flow_log_id, "ResourceId": VPC, "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs",
                "LogGroupName": GROUP, "DeliverLogsPermissionArn": ROLE, "MaxAggregationInterval": 600, "LogFormat": DEFAULT_LOG_FORMAT,
                "FlowLogStatus": "ACTIVE", "DeliverLogsStatus": "SUCCESS", "CreationTime": EPOCH, "Tags": []}
        base.update(entry)
        if base["LogDestinationType"] == "cloud-watch-logs" and "LogDestination" not in entry:
            base["LogDestination"] = "arn:aws:logs:us-west-2:123456789012:log-group:" + base["LogGroupName"]
        self.flow_logs[flow_log_id] = base
        return flow_log_id

    def describe_flow_logs(self, FlowLogIds=None, Filters=None):  # pylint: disable=invalid-name
        self.record("describe_flow_logs", FlowLogIds=FlowLogIds, Filters=Filters)
        self._maybe_fail("describe_flow_logs")
        found = list(self.flow_logs.values())
        if FlowLogIds:
            found = [fl for fl in found if fl["FlowLogId"] in FlowLogIds]
        for item in Filters or []:
            if item["Name"] == "resource-id":
                found = [fl for fl in found if fl["ResourceId"] in item["Values"]]
        return {"FlowLogs": copy.deepcopy(found)}

    def create_flow_logs(self, **kwargs):
        self.record("create_flow_logs", **kwargs)
        self._maybe_fail("create_flow_logs")
        if "create_flow_logs" in self.unsuccessful:
            return {"FlowLogIds": [], "Unsuccessful": self.unsuccessful.pop("create_flow_logs")}
        resource_id = kwargs["ResourceIds"][0]
        existing = [fl for fl in self.flow_logs.values() if fl["ResourceId"] == resource_id]
        if len(existing) >= 2:
            raise client_error("FlowLogsLimitExceeded", "You've reached the limit on the number of flow logs", "CreateFlowLogs")
        entry = {"ResourceId": resource_id, "TrafficType": kwargs["TrafficType"], "LogDestinationType": kwargs["LogDestinationType"],
                 "MaxAggregationInterval": kwargs.get("MaxAggregationInterval", 600), "LogFormat": kwargs.get("LogFormat") or DEFAULT_LOG_FORMAT}
        if kwargs["LogDestinationType"] == "cloud-watch-logs":
            entry.update(LogGroupName=kwargs["LogGroupName"], DeliverLogsPermissionArn=kwargs["DeliverLogsPermissionArn"])
        else:
            entry["LogDestination"] = kwargs["LogDestination"]
        for fl in existing:
            same = {key: fl.get(key) for key in entry} == entry
            if same:
                return {"FlowLogIds": [], "Unsuccessful": [{"ResourceId": resource_id, "Error": {
                    "Code": "FlowLogAlreadyExists", "Message": "Error. There is an existing Flow Log with the same configuration and log destination."}}]}
        tags = []
        for spec in kwargs.get("TagSpecifications") or []:
            assert spec["ResourceType"] == "vpc-flow-log"
            tags += spec["Tags"]
        entry["Tags"] = tags
        flow_log_id = self.add(**entry)
        return {"FlowLogIds": [flow_log_id], "Unsuccessful": []}

    def delete_flow_logs(self, FlowLogIds):  # pylint: disable=invalid-name
        self.record("delete_flow_logs", FlowLogIds=FlowLogIds)
        self._maybe_fail("delete_flow_logs")
        if "delete_flow_logs" in self.unsuccessful:
            return {"Unsuccessful": self.unsuccessful.pop("delete_flow_logs")}
        for flow_log_id in FlowLogIds:
            self.flow_logs.pop(flow_log_id)
        return {"Unsuccessful": []}

    def create_tags(self, Resources, Tags):  # pylint: disable=invalid-name
        self.record("create_tags", Resources=Resources, Tags=Tags)
        for resource in Resources:
            current = {tag["Key"]: tag["Value"] for tag in self.flow_logs[resource]["Tags"]}
            current.update({tag["Key"]: tag["Value"] for tag in Tags})
            self.flow_logs[resource]["Tags"] = [{"Key": key, "Value": value} for key, value in current.items()]

    def delete_tags(self, Resources, Tags):  # pylint: disable=invalid-name
        self.record("delete_tags", Resources=Resources, Tags=Tags)
        gone = {tag["Key"] for tag in Tags}
        for resource in Resources:
            self.flow_logs[resource]["Tags"] = [tag for tag in self.flow_logs[resource]["Tags"] if tag["Key"] not in gone]


class FakeMeta:
    region_name = "us-west-2"


class FakeEKS(Recorder):
    """One cluster's logging as EKS keeps it: an update changes the types it lists and leaves the others; the update
    is InProgress for ``update_polls`` DescribeUpdate calls, then ends ``update_outcome``; the cluster is UPDATING
    meanwhile. ``statuses`` are the cluster's next statuses, one per DescribeCluster, before it stays ``status``."""

    meta = FakeMeta()

    def __init__(self, name="loyalty", enabled=(), status="ACTIVE", statuses=(), update_polls=1, update_outcome="Successful", errors=()):
        super().__init__()
        self.name = name
        self.enabled = set(enabled)
        self.status = status
        self.statuses = list(statuses)
        self.update_polls = update_polls
        self.update_outcome = update_outcome
        self.errors = list(errors)
        self.updates = {}
        self.exists = True

    def describe_cluster(self, name):
        self.record("describe_cluster", name=name)
        if not self.exists or name != self.name:
            raise client_error("ResourceNotFoundException", "No cluster found for name: %s." % name, "DescribeCluster")
        status = self.statuses.pop(0) if self.statuses else self.status
        if any(update["status"] == "InProgress" for update in self.updates.values()):
            status = "UPDATING"
        types = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
        logging = [{"types": [t for t in types if t in self.enabled], "enabled": True},
                   {"types": [t for t in types if t not in self.enabled], "enabled": False}]
        return {"cluster": {"name": name, "status": status, "logging": {"clusterLogging": [setup for setup in logging if setup["types"]]}}}

    def update_cluster_config(self, name, logging):
        self.record("update_cluster_config", name=name, logging=logging)
        changes = {}
        for setup in logging["clusterLogging"]:
            for name_of_type in setup["types"]:
                changes[name_of_type] = setup["enabled"]
        if all((t in self.enabled) == on for t, on in changes.items()):
            raise client_error("InvalidParameterException", "No changes needed for the logging config provided", "UpdateClusterConfig")
        for name_of_type, on in changes.items():
            (self.enabled.add if on else self.enabled.discard)(name_of_type)
        update_id = "update-%d" % (len(self.updates) + 1)
        self.updates[update_id] = {"id": update_id, "status": "InProgress", "type": "LoggingUpdate", "polls": 0, "createdAt": EPOCH,
                                   "params": [{"type": "ClusterLogging", "value": str(logging)}], "errors": []}
        return {"update": {key: value for key, value in self.updates[update_id].items() if key != "polls"}}

    def describe_update(self, name, updateId):  # pylint: disable=invalid-name
        self.record("describe_update", name=name, updateId=updateId)
        update = self.updates[updateId]
        update["polls"] += 1
        if update["status"] == "InProgress" and update["polls"] > self.update_polls:
            update["status"] = self.update_outcome
            update["errors"] = self.errors
        return {"update": {key: value for key, value in update.items() if key != "polls"}}


class FakeClock:
    """A monotonic clock that moves only when slept on."""

    def __init__(self):
        self.now = 0.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds
