"""CloudWatch Logs: where moto 5's log groups answer otherwise than the CloudWatch Logs API reference says."""

import json

from moto.logs.exceptions import InvalidParameterException
from moto.logs.responses import LogsResponse

from .patching import wrap


def fix_log_group_name_pattern():
    """DescribeLogGroups takes ``logGroupNamePattern``: only the log groups whose name contains it (a case-sensitive
    substring search), and refuses it together with ``logGroupNamePrefix`` (InvalidParameterException). moto ignores
    it and answers every log group of the account, so a reader that asks for one environment's groups in one call
    sees (and would act on) every other environment's too."""

    @wrap(LogsResponse, "describe_log_groups")
    def describe_log_groups(original, self):
        pattern = self._get_param("logGroupNamePattern")  # pylint: disable=protected-access
        if pattern is None:
            return original(self)
        if self._get_param("logGroupNamePrefix") is not None:  # pylint: disable=protected-access
            raise InvalidParameterException(msg="LogGroupNamePrefix and LogGroupNamePattern are mutually exclusive parameters.")
        limit = self._get_param("limit", 50)  # pylint: disable=protected-access
        start = int(self._get_param("nextToken") or 0)  # pylint: disable=protected-access
        names = sorted(name for name in self.logs_backend.groups if pattern in name)
        page = names[start:start + limit]
        answer = {"logGroups": [self.logs_backend.groups[name].to_describe_dict() for name in page]}
        if start + limit < len(names):
            answer["nextToken"] = str(start + limit)
        return json.dumps(answer)


CORRECTIONS = [fix_log_group_name_pattern]
