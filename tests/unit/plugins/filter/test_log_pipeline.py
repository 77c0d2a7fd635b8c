"""The log format's one source: the Logback pattern turned into the pipeline's grok, date formats and multiline start,
sample lines rendered the way Logback writes them, and the grok check that runs before anything is written.

The real grok engine parses these lines in tests/logging; here is the pure logic around it."""

import datetime
import re

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.filter import log_pipeline as plugin
from ansible_collections.loyalty.platform.plugins.module_utils import logformat
from ansible_collections.loyalty.platform.plugins.module_utils.conventions import convention

log_pipeline = plugin.FilterModule().filters()["log_pipeline"]

EVENT = {"timestamp": datetime.datetime(2026, 12, 4, 1, 2, 3, 456000), "thread": "http-nio-8080-exec-1", "level": "INFO",
         "logger": "com.loyalty.user.controller.UserRegistrationController", "message": "user created - id=42 [ok]",
         "mdc": {"traceId": "4bf92f3577b34da6", "spanId": "00f067aa0ba902b7"}}


def test_the_convention_is_the_guides_console_pattern():
    assert convention("log_pattern") == "%d{yyyy-MM-dd HH:mm:ss} [%thread] %-5level [%X{traceId},%X{spanId}] %logger{36} - %msg%n"
    assert convention("log_structured_format") == "ecs"


def test_the_pattern_becomes_a_grok_in_the_same_order():
    grok = logformat.logback_to_grok()
    assert grok["fields"] == ["timestamp", "thread", "level", "trace_id", "span_id", "logger", "log_message"]
    assert grok["match"] == (r"(?m)\A%{LOYALTY_TIMESTAMP:timestamp} \[%{DATA:thread}\] %{LOGLEVEL:level} +\[%{DATA:trace_id},"
                             r"%{DATA:span_id}\] %{NOTSPACE:logger} - %{GREEDYDATA:log_message}")
    assert grok["pattern_definitions"] == {"LOYALTY_TIMESTAMP": r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"}
    assert grok["date_formats"] == ["yyyy-MM-dd HH:mm:ss"]
    assert grok["timezone"] == "UTC"


def test_the_multiline_start_accepts_a_first_line_and_a_json_line_but_not_a_stack_trace_line():
    start = re.compile(logformat.logback_to_grok()["multiline_pattern"])
    assert start.match(logformat.render_logback(EVENT))
    assert start.match('{"@timestamp":"2026-12-04T01:02:03Z"}')
    assert not start.match("\tat com.loyalty.X.y(X.java:10)")
    assert not start.match("Caused by: java.lang.IllegalStateException: boom")


def test_render_pads_the_level_abbreviates_the_logger_and_writes_the_trace_below():
    line = logformat.render_logback(EVENT)
    assert line == ("2026-12-04 01:02:03 [http-nio-8080-exec-1] INFO  [4bf92f3577b34da6,00f067aa0ba902b7] "
                    "c.l.u.c.UserRegistrationController - user created - id=42 [ok]")
    with_trace = logformat.render_logback(dict(EVENT, level="ERROR", stack_trace="java.lang.IllegalStateException: boom\n\tat a.B.c(B.java:1)\n"))
    assert with_trace.split("\n", 1)[0].startswith("2026-12-04 01:02:03 [http-nio-8080-exec-1] ERROR [")
    assert with_trace.split("\n")[1:] == ["java.lang.IllegalStateException: boom", "\tat a.B.c(B.java:1)"]


def test_an_empty_mdc_leaves_empty_brackets():
    assert "] WARN  [,] " in logformat.render_logback(dict(EVENT, level="WARN", mdc={}))


def test_a_date_with_milliseconds_and_a_zone():
    grok = logformat.logback_to_grok("%d{yyyy-MM-dd'T'HH:mm:ss.SSS, Europe/Paris} %level %logger - %msg%n".replace("'T'", "T"))
    assert grok["date_formats"] == ["yyyy-MM-dd'T'HH:mm:ss.SSS"]
    assert grok["timezone"] == "Europe/Paris"
    assert grok["pattern_definitions"]["LOYALTY_TIMESTAMP"] == r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}"


def test_logbacks_default_date_format_keeps_its_comma():
    grok = logformat.logback_to_grok("%d %level %msg")
    assert grok["date_formats"] == ["yyyy-MM-dd HH:mm:ss,SSS"]
    assert grok["timezone"] == "UTC"


@pytest.mark.parametrize("pattern, message", [
    ("", "empty"),
    ("%clr(%d{yyyy-MM-dd HH:mm:ss}){faint} %level %msg%n", "%clr"),
    ("%d{yyyy-MM-dd} %highlight(%level) %msg", "%highlight"),
    ("[%thread] %d %level %msg", "must start with %d"),
    ("%d %thread %msg", "no %level"),
    ("%d %level", "no %msg"),
    ("%d %level %msg %logger", "after %msg"),
    ("%d{yyyy-MM-dd EEE} %level %msg", "'E'"),
    ("%d %level %X %msg", "%X without a key"),
    ("%d %d %level %msg", "%d twice"),
])
def test_patterns_the_pipeline_cannot_parse_are_refused_with_the_reason(pattern, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        logformat.logback_to_grok(pattern)
    with pytest.raises(AnsibleFilterError, match="loyalty.platform.log_pipeline: "):
        log_pipeline(pattern)


def test_the_filter_returns_the_corrected_chain_with_no_problem():
    spec = log_pipeline(logformat.LOG_PATTERN)
    assert spec["problems"] == []
    assert spec["json"]["exclusive"] is True
    assert spec["json"]["rename"]["log.level"] == "level"
    assert spec["grok"]["tag_on_failure"] == "_grokparsefailure_springboot"
    assert spec["date"] == {"field": "timestamp", "formats": ["yyyy-MM-dd HH:mm:ss", "ISO8601"], "timezone": "UTC",
                            "tag_on_failure": "_dateparsefailure"}
    assert spec["security"] == {"field": "logger", "equals": "SECURITY", "tag": "security"}


def test_an_mdc_key_that_makes_no_field_name_is_a_grok_problem():
    spec = log_pipeline("%d %level [%X{trace(id}] %msg")
    assert any("not a grok reference" in problem for problem in spec["problems"])


@pytest.mark.parametrize("expression, definitions, found", [
    ("%{NOSUCHPATTERN:x}", {}, "names no grok pattern"),
    ("%{WORD:x} (unclosed", {}, "does not compile"),
    ("%{WORD:x} [a-", {}, "does not compile"),
    ("%{MINE:x}", {"MINE": "(?<y>a"}, "pattern_definitions.MINE"),
    ("%{WORD:x}", {"lower": "a"}, "not a pattern name"),
    ("%{WORD:x:long}", {}, "not a grok reference"),
])
def test_grok_problems(expression, definitions, found):
    problems = logformat.grok_problems(expression, definitions)
    assert any(found in problem for problem in problems), problems


def test_sound_groks_have_no_problem():
    assert logformat.grok_problems(r"%{WORD:a} (?<b>[0-9]+) %{NUMBER:c:int}", {}) == []
    assert logformat.grok_problems(logformat.GUIDE_SPEC["grok"]["match"], {}) == []
