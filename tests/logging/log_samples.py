"""Sample log lines of the loyalty services, the one set tests/logging and bench/bench_logging.py use.

Pattern lines are rendered with ``render_logback`` and the configured ``LOG_PATTERN``; JSON lines are written the way
Spring Boot's structured console logging (``logging.structured.format.console: ecs``) writes them. Each sample says
what the corrected chain must make of it: the fields (written out by hand, as Logback writes them, not computed by the
code under test), the UTC ``@timestamp`` and the tags.
"""

import datetime
import json

from ansible_collections.loyalty.platform.plugins.module_utils.logformat import LOG_PATTERN, render_logback

UTC = datetime.timezone.utc
WHEN = datetime.datetime(2026, 3, 14, 9, 26, 53, 412000, tzinfo=UTC)
WHEN_TEXT = "2026-03-14 09:26:53"
# The pattern writes whole seconds: the instant the pipeline can recover from a pattern line.
WHEN_UTC = "2026-03-14T09:26:53.000Z"
TRACE_ID = "6f1c2a9e4b7d3c10a5e8f2b4c6d8e0a1"
SPAN_ID = "a5e8f2b4c6d8e0a1"

STACK_TRACE = "\n".join((
    "java.lang.IllegalStateException: ledger closed for member M-2231",
    "\tat com.loyalty.platform.ledger.LedgerService.post(LedgerService.java:88)",
    "\tat com.loyalty.platform.ledger.LedgerService.lambda$postAll$0(LedgerService.java:61)",
    "\tat java.base/java.util.ArrayList.forEach(ArrayList.java:1596)",
    "\t... 42 common frames omitted",
    "Caused by: java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed "
    "out after 30000ms.",
    "\tat com.zaxxer.hikari.pool.HikariPool.createTimeoutException(HikariPool.java:696)",
    "\t... 47 common frames omitted",
))

# A message logged with a pretty-printed body: its continuation lines (one starts with spaces and "{") stay in the event,
# since Filebeat's multiline start pattern only sees a time or a "{" at the start of a line.
PRETTY_BODY = "Published batch to loyalty.points.v1:\n[\n  {\"member\": \"M-1\", \"points\": 10},\n  {\"member\": \"M-2\", \"points\": 5}\n]"


def _pattern(name, level, thread, logger, message, mdc, expected, stack_trace=None, tags=()):
    event = {"timestamp": WHEN, "thread": thread, "level": level, "logger": logger, "message": message, "mdc": mdc}
    if stack_trace:
        event["stack_trace"] = stack_trace
    fields = {"timestamp": WHEN_TEXT, "thread": thread, "level": level, "@timestamp": WHEN_UTC}
    fields.update(expected)
    # Logstash's grok leaves empty captures out (keep_empty_captures is off): an empty MDC value is no field at all.
    for key, field in (("traceId", "trace_id"), ("spanId", "span_id")):
        if mdc.get(key):
            fields[field] = mdc[key]
    return {"name": name, "kind": "pattern", "line": render_logback(event, LOG_PATTERN), "fields": fields,
            "tags": list(tags)}


def _ecs(name, level, thread, logger, message, trace=True, extra=None, tags=()):
    """A line as Spring Boot's ECS structured logging writes it (flat dotted keys, in its order)."""
    document = {"@timestamp": "2026-03-14T09:26:53.412807Z", "log.level": level, "process.pid": 1,
                "process.thread.name": thread, "service.name": "loyalty-points", "service.version": "1.8.2",
                "log.logger": logger, "message": message}
    if trace:
        document.update({"trace.id": TRACE_ID, "span.id": SPAN_ID})
    document.update(extra or {})
    document["ecs.version"] = "8.11"
    fields = {"timestamp": "2026-03-14T09:26:53.412807Z", "level": level, "thread": thread, "logger": logger,
              "log_message": message, "service.name": "loyalty-points", "ecs.version": "8.11",
              "@timestamp": "2026-03-14T09:26:53.412Z"}
    if trace:
        fields.update({"trace_id": TRACE_ID, "span_id": SPAN_ID})
    return {"name": name, "kind": "json", "line": json.dumps(document, separators=(",", ":")), "fields": fields,
            "tags": list(tags)}


def _unparsed(name, line, kind="unparsed", guide_fields=None):
    tags = ["_jsonparsefailure"] if kind == "bad_json" else ["_grokparsefailure_springboot"]
    return {"name": name, "kind": kind, "line": line, "fields": {}, "tags": tags, "guide_fields": guide_fields}


def samples():
    """Every sample, in a fixed order: dicts with name, kind (pattern, json, unparsed, bad_json), line, fields, tags."""
    return [
        _pattern("startup", "INFO", "main", "com.loyalty.platform.points.PointsApplication",
                 "Started PointsApplication in 4.213 seconds (process running for 4.9)", {},
                 {"logger": "c.l.p.points.PointsApplication",
                  "log_message": "Started PointsApplication in 4.213 seconds (process running for 4.9)"}),
        _pattern("redemption_refused", "WARN", "http-nio-8080-exec-7",
                 "com.loyalty.platform.points.web.RedemptionController",
                 "Redemption refused - balance 120 < cost 500 [member=M-1042, reward=R-77]",
                 {"traceId": TRACE_ID, "spanId": SPAN_ID},
                 {"logger": "c.l.p.p.web.RedemptionController",
                  "log_message": "Redemption refused - balance 120 < cost 500 [member=M-1042, reward=R-77]"}),
        _pattern("sql_debug", "DEBUG", "Batch Worker 3", "org.hibernate.SQL",
                 "select m1_0.id,m1_0.tier from member m1_0 where m1_0.id=?", {"traceId": TRACE_ID, "spanId": ""},
                 {"logger": "org.hibernate.SQL", "log_message": "select m1_0.id,m1_0.tier from member m1_0 where m1_0.id=?"}),
        _pattern("feature_flag_trace", "TRACE", "scheduling-1", "com.loyalty.platform.config.FeatureFlags",
                 "flag points.double-weekend = false", {},
                 {"logger": "c.l.platform.config.FeatureFlags", "log_message": "flag points.double-weekend = false"}),
        _pattern("posting_failed", "ERROR", "http-nio-8080-exec-2", "com.loyalty.platform.ledger.LedgerService",
                 "Posting failed for member M-2231", {"traceId": TRACE_ID, "spanId": SPAN_ID},
                 {"logger": "c.l.platform.ledger.LedgerService",
                  "log_message": "Posting failed for member M-2231\n" + STACK_TRACE},
                 stack_trace=STACK_TRACE),
        _pattern("security_login", "WARN", "http-nio-8080-exec-3", "SECURITY",
                 "login failed for user=alice from 203.0.113.7 [attempt 3]", {"traceId": TRACE_ID, "spanId": SPAN_ID},
                 {"logger": "SECURITY", "log_message": "login failed for user=alice from 203.0.113.7 [attempt 3]"},
                 tags=["security"]),
        _pattern("pretty_body", "INFO", "org.springframework.kafka.KafkaListenerEndpointContainer#0-0-C-1",
                 "com.loyalty.platform.events.EventPublisher", PRETTY_BODY, {"traceId": TRACE_ID, "spanId": SPAN_ID},
                 {"logger": "c.l.platform.events.EventPublisher", "log_message": PRETTY_BODY}),
        _ecs("json_balance", "INFO", "http-nio-8080-exec-4", "com.loyalty.platform.points.web.BalanceController",
             "Balance read for member M-1042 [tier=GOLD]"),
        _ecs("json_startup", "INFO", "main", "com.loyalty.platform.points.PointsApplication",
             "Started PointsApplication in 4.213 seconds (process running for 4.9)", trace=False),
        _ecs("json_error", "ERROR", "http-nio-8080-exec-2", "com.loyalty.platform.ledger.LedgerService",
             "Posting failed for member M-2231",
             extra={"error.type": "java.lang.IllegalStateException", "error.message": "ledger closed for member M-2231",
                    "error.stack_trace": STACK_TRACE}),
        _ecs("json_security", "WARN", "http-nio-8080-exec-3", "SECURITY",
             "login failed for user=alice from 203.0.113.7 [attempt 3]", tags=["security"]),
        _unparsed("free_text", "Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space"),
        _unparsed("guide_format", "2026-03-14T09:26:53.412Z INFO [loyalty-points,%s,%s] "
                  "c.l.p.p.web.RedemptionController : Redemption accepted for member M-1042" % (TRACE_ID, SPAN_ID),
                  guide_fields={"timestamp": "2026-03-14T09:26:53.412Z", "level": "INFO", "service": "loyalty-points",
                                "trace_id": TRACE_ID, "span_id": SPAN_ID, "logger": "c.l.p.p.web.RedemptionController",
                                "log_message": "Redemption accepted for member M-1042",
                                "@timestamp": "2026-03-14T09:26:53.412Z"}),
        # The guide's format with a space and no offset: its date filter reads it in the JVM's default zone.
        _unparsed("guide_format_local", "2026-03-14 09:26:53.412 INFO [loyalty-points,%s,%s] "
                  "c.l.p.p.web.RedemptionController : Redemption accepted for member M-1042" % (TRACE_ID, SPAN_ID),
                  guide_fields={"timestamp": "2026-03-14 09:26:53.412", "level": "INFO", "service": "loyalty-points",
                                "trace_id": TRACE_ID, "span_id": SPAN_ID, "logger": "c.l.p.p.web.RedemptionController",
                                "log_message": "Redemption accepted for member M-1042",
                                "@timestamp": "2026-03-14T09:26:53.412Z"}),
        # Spring Boot's default console pattern (no logging.pattern.console): not the configured format.
        _unparsed("boot_default_console", "2026-03-14T09:26:53.412Z  INFO 1 --- [loyalty-points] [           main] "
                  "c.l.p.points.PointsApplication           : Started PointsApplication in 4.213 seconds"),
        _unparsed("empty", ""),
        _unparsed("truncated_in_mdc", "2026-03-14 09:26:53 [http-nio-8080-exec-7] WARN  [6f1c2a9e4b7d"),
        _unparsed("truncated_before_message", "2026-03-14 09:26:53 [main] INFO  [,] c.l.p.points.PointsApplication -"),
        _unparsed("truncated_time", "2026-03-14 09:2"),
        _unparsed("bad_json_truncated", "{\"@timestamp\":\"2026-03-14T09:26:53.412807Z\",\"log.level\":\"INFO\","
                  "\"message\":\"Balance read for mem", kind="bad_json"),
        _unparsed("bad_json_single_quotes", "{'log.level': 'INFO', 'message': 'not JSON'}", kind="bad_json"),
    ]


def sample_lines():
    return [sample["line"] for sample in samples()]
