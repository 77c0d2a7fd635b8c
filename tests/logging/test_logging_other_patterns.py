"""The pipeline follows the pattern: other Logback patterns, rendered and parsed back in the real engine."""

import datetime

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.logformat import pipeline_spec, render_logback
from log_samples import WHEN

CET = datetime.timezone(datetime.timedelta(hours=1))
EVENT = {"timestamp": WHEN, "thread": "http-nio-8080-exec-1", "level": "INFO",
         "logger": "com.loyalty.platform.points.web.BalanceController", "message": "Balance read - member M-1042 [GOLD]",
         "mdc": {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736"}}

CASES = [
    ("iso_t_millis", "%d{yyyy-MM-dd'T'HH:mm:ss.SSS} %5level [%thread] %logger - %msg%n", WHEN,
     "2026-03-14T09:26:53.412  INFO [http-nio-8080-exec-1] com.loyalty.platform.points.web.BalanceController - "
     "Balance read - member M-1042 [GOLD]",
     {"logger": "com.loyalty.platform.points.web.BalanceController"}),
    ("zone_in_pattern", "%d{yyyy-MM-dd HH:mm:ss,SSS, Europe/Berlin} [%thread] %-5level %logger{20} - %msg%n",
     WHEN.astimezone(CET),
     "2026-03-14 10:26:53,412 [http-nio-8080-exec-1] INFO  c.l.p.p.w.BalanceController - Balance read - member M-1042 [GOLD]",
     {"logger": "c.l.p.p.w.BalanceController"}),
    ("logback_default_date", "%d [%X{traceId}] %-5level %logger{0} - %msg%n", WHEN,
     "2026-03-14 09:26:53,412 [4bf92f3577b34da6a3ce929d0e0e4736] INFO  BalanceController - Balance read - member M-1042 [GOLD]",
     {"logger": "BalanceController", "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736"}),
]


@pytest.mark.parametrize("pattern, written_at, line, fields", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_line_of_another_pattern_parses_back(harness, pattern, written_at, line, fields):
    event = dict(EVENT, timestamp=written_at)
    assert render_logback(event, pattern) == line
    parsed = harness(pipeline_spec(pattern), [line])["events"][0]
    assert parsed["tags"] == []
    assert parsed["level"] == "INFO"
    assert parsed["log_message"] == "Balance read - member M-1042 [GOLD]"
    for field, value in fields.items():
        assert parsed[field] == value
    # Every one of these patterns writes milliseconds: the instant comes back whole.
    assert parsed["@timestamp"] == "2026-03-14T09:26:53.412Z"
