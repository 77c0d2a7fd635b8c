# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""The services' log format and the log pipeline's parsing, derived from one setting.

The loyalty services log through Spring Boot's Logback: ECS JSON lines (structured console logging) and, for any
line that is not JSON, the console pattern ``LOG_PATTERN`` (the one ``loyalty.platform.eks_apps`` writes into each
service's ``application.yml``). ``logback_to_grok`` turns that pattern into the grok expression, the date formats
and the multiline start pattern of the pipeline, so a change of the pattern changes both ends; ``pipeline_spec``
is the corrected filter chain as data, which ``loyalty.platform.logging_elk`` renders into Logstash's configuration
and the grok test harness runs with a real grok engine. ``render_logback`` writes an event the way Logback would,
for sample lines. ``grok_problems`` checks a grok expression before anything is written.
"""

from __future__ import annotations

import re

# The guide's console pattern (application.yml, logging.pattern.console).
LOG_PATTERN = "%d{yyyy-MM-dd HH:mm:ss} [%thread] %-5level [%X{traceId},%X{spanId}] %logger{36} - %msg%n"

# Spring Boot's structured console logging format the services use for JSON lines.
STRUCTURED_FORMAT = "ecs"

# The fields both kinds of line end up with, and the ECS keys of a JSON line they come from.
ECS_RENAMES = {
    "@timestamp": "timestamp",
    "log.level": "level",
    "log.logger": "logger",
    "process.thread.name": "thread",
    "trace.id": "trace_id",
    "span.id": "span_id",
    "message": "log_message",
}

GROK_FAILURE_TAG = "_grokparsefailure_springboot"
JSON_FAILURE_TAG = "_jsonparsefailure"
DATE_FAILURE_TAG = "_dateparsefailure"
SECURITY_LOGGER = "SECURITY"
SECURITY_TAG = "security"
TIMESTAMP_PATTERN_NAME = "LOYALTY_TIMESTAMP"

# Logback date tokens: their regular expression and the same token in the date filter's (Joda) syntax.
_DATE_TOKENS = (
    ("yyyy", r"\d{4}", "yyyy"),
    ("MM", r"\d{2}", "MM"),
    ("dd", r"\d{2}", "dd"),
    ("HH", r"\d{2}", "HH"),
    ("mm", r"\d{2}", "mm"),
    ("ss", r"\d{2}", "ss"),
    ("SSS", r"\d{3}", "SSS"),
)
_DATE_LITERALS = "-:., T/"
# Logback's default %d format (ISO8601 with a comma before the milliseconds).
_DEFAULT_DATE = "yyyy-MM-dd HH:mm:ss,SSS"

_CONVERSION = re.compile(r"%(?P<pad>-?\d+)?(?:\.(?P<trunc>-?\d+))?(?P<word>[a-zA-Z]+|%)(?:\{(?P<option>[^}]*)\})?")
_ALIASES = {
    "d": "date", "date": "date",
    "t": "thread", "thread": "thread",
    "p": "level", "le": "level", "level": "level",
    "X": "mdc", "mdc": "mdc",
    "c": "logger", "lo": "logger", "logger": "logger",
    "m": "message", "msg": "message", "message": "message",
    "n": "newline",
}
_REGEX_SPECIAL = set("\\^$.|?*+()[]{}")

# Patterns of the standard grok library (Logstash's, OpenSearch's and Elasticsearch's) the expressions may name.
STANDARD_GROK_PATTERNS = frozenset((
    "USERNAME", "USER", "EMAILLOCALPART", "EMAILADDRESS", "INT", "BASE10NUM", "NUMBER", "BASE16NUM", "BASE16FLOAT",
    "POSINT", "NONNEGINT", "WORD", "NOTSPACE", "SPACE", "DATA", "GREEDYDATA", "QUOTEDSTRING", "UUID", "URN",
    "MAC", "CISCOMAC", "WINDOWSMAC", "COMMONMAC", "IPV6", "IPV4", "IP", "HOSTNAME", "IPORHOST", "HOSTPORT",
    "PATH", "UNIXPATH", "TTY", "WINPATH", "URIPROTO", "URIHOST", "URIPATH", "URIPARAM",
    "URIPATHPARAM", "URI", "MONTH", "MONTHNUM", "MONTHNUM2", "MONTHDAY", "DAY", "YEAR", "HOUR", "MINUTE",
    "SECOND", "TIME", "DATE_US", "DATE_EU", "ISO8601_TIMEZONE", "ISO8601_SECOND", "TIMESTAMP_ISO8601", "DATE",
    "DATESTAMP", "TZ", "DATESTAMP_RFC822", "DATESTAMP_RFC2822", "DATESTAMP_OTHER", "DATESTAMP_EVENTLOG",
    "SYSLOGTIMESTAMP", "PROG", "SYSLOGPROG", "SYSLOGHOST", "SYSLOGFACILITY", "HTTPDATE", "QS", "LOGLEVEL",
    "JAVACLASS", "JAVAFILE", "JAVAMETHOD", "JAVASTACKTRACEPART", "JAVATHREAD", "JAVALOGMESSAGE",
))
_GROK_REFERENCE = re.compile(r"%\{(?P<body>[^}]*)\}")
_GROK_REFERENCE_BODY = re.compile(r"^(?P<name>[A-Za-z0-9_]+)(?::(?P<field>[A-Za-z0-9_@.\[\]-]+)(?::(?P<type>int|float))?)?$")


def _escape(literal):
    return "".join("\\" + char if char in _REGEX_SPECIAL else char for char in literal)


def _tokens(pattern):
    """(kind, value, match) for each literal run and conversion word of a Logback pattern; ValueError if unsupported."""
    if not isinstance(pattern, str) or not pattern.strip():
        raise ValueError("the log pattern is empty: set it to a Logback pattern such as %r" % LOG_PATTERN)
    position, tokens = 0, []
    while position < len(pattern):
        percent = pattern.find("%", position)
        if percent < 0:
            tokens.append(("literal", pattern[position:], None))
            break
        if percent > position:
            tokens.append(("literal", pattern[position:percent], None))
        match = _CONVERSION.match(pattern, percent)
        if not match:
            raise ValueError("the log pattern has a lone %% at character %d: write %%%% for a literal percent sign"
                             % (percent + 1))
        word = match.group("word")
        if word == "%":
            tokens.append(("literal", "%", None))
        elif word not in _ALIASES:
            raise ValueError(
                "the log pattern uses %%%s, which the log pipeline cannot parse: use only %%d{...}, %%thread, "
                "%%level, %%X{key}, %%logger, %%msg and %%n (no colours, no %%clr)" % word)
        else:
            tokens.append((_ALIASES[word], match.group("option"), match))
        position = match.end()
    kinds = [token[0] for token in tokens]
    for required in ("date", "level", "message"):
        if required not in kinds:
            raise ValueError("the log pattern has no %%%s conversion: the pipeline needs the time, the level and the "
                             "message of every line" % {"date": "d", "level": "level", "message": "msg"}[required])
    if kinds[0] != "date":
        raise ValueError("the log pattern must start with %d{...}: the pipeline tells where a line (or a stack "
                         "trace's first line) begins by its time")
    return tokens


def _date_parts(option):
    fmt = (option or _DEFAULT_DATE).split(",")
    timezone = None
    # %d{yyyy-MM-dd HH:mm:ss,SSS} has a comma inside; %d{pattern, Zone} names a time zone after the last comma.
    if len(fmt) > 1 and re.match(r"^\s*[A-Za-z][A-Za-z_/+-]*\s*$", fmt[-1]) and not re.match(r"^\s*S+\s*$", fmt[-1]):
        timezone = fmt.pop().strip()
    fmt = ",".join(fmt)
    if fmt == "ISO8601":
        fmt = _DEFAULT_DATE
    regex, joda, position = "", "", 0
    while position < len(fmt):
        if fmt.startswith("'T'", position):
            # Logback's date formats (java.time's) take the T between date and time quoted, as 'T'.
            regex, joda, position = regex + "T", joda + "'T'", position + 3
            continue
        for token, token_regex, token_joda in _DATE_TOKENS:
            if fmt.startswith(token, position):
                regex += token_regex
                joda += token_joda
                position += len(token)
                break
        else:
            char = fmt[position]
            if char not in _DATE_LITERALS:
                raise ValueError("the log pattern's date format %r uses %r: only yyyy, MM, dd, HH, mm, ss, SSS and "
                                 "the separators %r are supported" % (fmt, char, _DATE_LITERALS))
            regex += _escape(char)
            joda += "'%s'" % char if char in "T" else char
            position += 1
    return regex, joda, timezone


def _snake(name):
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def logback_to_grok(pattern=LOG_PATTERN):
    """The grok expression, custom patterns, date formats and multiline start that parse lines of ``pattern``."""
    tokens = _tokens(pattern)
    parts, definitions, fields = [], {}, []
    date_format, timezone, first_date = None, None, None
    padded_before = False
    for index, (kind, option, match) in enumerate(tokens):
        pad = match.group("pad") if match else None
        if kind == "literal":
            literal = option
            if padded_before and literal.startswith(" "):
                # A right-padded value (%-5level) is followed by as many spaces as it lacks.
                parts.append(r" +" + _escape(literal.lstrip(" ")))
            else:
                parts.append(_escape(literal))
            padded_before = False
            continue
        if pad and not pad.startswith("-"):
            parts.append(r" *")
        if kind == "date":
            if date_format is not None:
                raise ValueError("the log pattern has %d twice: keep one time per line")
            first_date, date_format, timezone = _date_parts(option)
            definitions[TIMESTAMP_PATTERN_NAME] = first_date
            parts.append("%%{%s:timestamp}" % TIMESTAMP_PATTERN_NAME)
            fields.append("timestamp")
        elif kind == "thread":
            parts.append("%{DATA:thread}")
            fields.append("thread")
        elif kind == "level":
            parts.append("%{LOGLEVEL:level}")
            fields.append("level")
        elif kind == "mdc":
            if not option:
                raise ValueError("the log pattern has %X without a key: write %X{traceId}")
            field = _snake(option.split(":-")[0])
            parts.append("%%{DATA:%s}" % field)
            fields.append(field)
        elif kind == "logger":
            parts.append("%{NOTSPACE:logger}")
            fields.append("logger")
        elif kind == "message":
            rest = [token[0] for token in tokens[index + 1:] if token[0] not in ("newline", "literal")]
            if rest:
                raise ValueError("the log pattern has conversions after %msg: the message (with any stack trace "
                                 "below it) must come last")
            parts.append("%{GREEDYDATA:log_message}")
            fields.append("log_message")
        elif kind == "newline":
            continue
        padded_before = bool(pad and pad.startswith("-"))
    while parts and parts[-1] in ("", " "):
        parts.pop()
    # (?m): in the grok engines (Oniguruma, Joni) the dot then matches newlines, so a stack trace that Filebeat
    # joined to its first line stays in the message. \A: the event's first line, not any line of it, is the one
    # that must match (^ is a line anchor there).
    return {
        "match": "(?m)\\A" + "".join(parts).rstrip(),
        "pattern_definitions": definitions,
        "date_formats": [date_format],
        "timezone": timezone or "UTC",
        "fields": fields,
        "multiline_pattern": r"^(%s|\{)" % first_date,
    }


def pipeline_spec(pattern=LOG_PATTERN, timezone=None):
    """The corrected filter chain as data: JSON lines parsed as JSON, never grokked; other lines by the pattern."""
    grok = logback_to_grok(pattern)
    return {
        "name": "corrected",
        "json": {"when": r"\A\s*\{", "source": "message", "tag_on_failure": JSON_FAILURE_TAG,
                 "rename": dict(ECS_RENAMES), "exclusive": True},
        "grok": {"match": grok["match"], "pattern_definitions": grok["pattern_definitions"],
                 "tag_on_failure": GROK_FAILURE_TAG},
        "date": {"field": "timestamp", "formats": grok["date_formats"] + ["ISO8601"],
                 "timezone": timezone or grok["timezone"], "tag_on_failure": DATE_FAILURE_TAG},
        "geoip": {"field": "client_ip", "target": "geoip"},
        "security": {"field": "logger", "equals": SECURITY_LOGGER, "tag": SECURITY_TAG},
        "multiline_pattern": grok["multiline_pattern"],
    }


# The guide's chain, in the same shape, for the benchmark and the tests that show what it gets wrong.
GUIDE_SPEC = {
    "name": "guide",
    "json": {"when": r"^{.*}$", "source": "message", "tag_on_failure": JSON_FAILURE_TAG, "rename": {},
             "exclusive": False},
    "grok": {"match": r"%{TIMESTAMP_ISO8601:timestamp} %{LOGLEVEL:level} \[%{DATA:service},%{DATA:trace_id},"
                      r"%{DATA:span_id}\] %{DATA:logger} : %{GREEDYDATA:log_message}",
             "pattern_definitions": {}, "tag_on_failure": "_grokparsefailure"},
    "date": {"field": "timestamp", "formats": ["ISO8601"], "timezone": None, "tag_on_failure": DATE_FAILURE_TAG},
    "geoip": {"field": "client_ip", "target": "geoip"},
    "security": {"field": "logger", "equals": SECURITY_LOGGER, "tag": SECURITY_TAG},
}


def _abbreviate(logger, length):
    """Logback's %logger{length}: package segments shortened to their first letter, from the left, until it fits."""
    if length is None or len(logger) <= length:
        return logger
    if length == 0:
        return logger.rsplit(".", 1)[-1]
    segments = logger.split(".")
    for index in range(len(segments) - 1):
        if len(".".join(segments)) <= length:
            break
        segments[index] = segments[index][:1]
    return ".".join(segments)


def render_logback(event, pattern=LOG_PATTERN):
    """One event as Logback writes it with ``pattern`` (the trailing newline left out).

    ``event``: ``timestamp`` (a datetime in the zone the line is written in), ``thread``, ``level``, ``logger``,
    ``message``, ``mdc`` (dict) and optionally ``stack_trace`` (lines written after the message, as Logback does).
    """
    out = []
    for kind, option, match in _tokens(pattern):
        if kind == "literal":
            out.append(option)
            continue
        if kind == "newline":
            continue
        if kind == "date":
            value = _date_parts(option)[1].replace("'", "")
            stamp = event["timestamp"]
            for token, formatted in (("yyyy", "%04d" % stamp.year), ("MM", "%02d" % stamp.month),
                                     ("dd", "%02d" % stamp.day), ("HH", "%02d" % stamp.hour),
                                     ("mm", "%02d" % stamp.minute), ("ss", "%02d" % stamp.second),
                                     ("SSS", "%03d" % (stamp.microsecond // 1000))):
                value = value.replace(token, formatted)
        elif kind == "thread":
            value = event.get("thread", "main")
        elif kind == "level":
            value = event["level"]
        elif kind == "mdc":
            key, default = (option.split(":-", 1) + [""])[:2]
            value = (event.get("mdc") or {}).get(key, default)
        elif kind == "logger":
            value = _abbreviate(event["logger"], int(option) if option and option.strip().isdigit() else None)
        else:
            value = event["message"]
            if event.get("stack_trace"):
                value += "\n" + event["stack_trace"].rstrip("\n")
        pad = match.group("pad")
        if pad:
            width = int(pad)
            value = value.ljust(-width) if width < 0 else value.rjust(width)
        out.append(value)
    return "".join(out)


def grok_problems(expression, pattern_definitions=None):
    """What keeps a grok expression from compiling: unknown pattern names, bad references, bad regular expressions."""
    problems = []
    if not isinstance(expression, str) or not expression:
        return ["the grok expression is empty"]
    definitions = dict(pattern_definitions or {})
    known = STANDARD_GROK_PATTERNS | set(definitions)

    def check(text, where):
        def substitute(reference):
            body = _GROK_REFERENCE_BODY.match(reference.group("body"))
            if not body:
                problems.append("%s: %%{%s} is not a grok reference (write %%{NAME} or %%{NAME:field})"
                                % (where, reference.group("body")))
            elif body.group("name") not in known:
                problems.append("%s: %%{%s} names no grok pattern: define %s in pattern_definitions or use one of "
                                "the standard patterns" % (where, reference.group("body"), body.group("name")))
            return "(?:x)"

        plain = _GROK_REFERENCE.sub(substitute, text)
        # Oniguruma's named groups (?<name>...) are Python's (?P<name>...); the flags and classes are the same.
        plain = re.sub(r"\(\?<(?=[A-Za-z_])", "(?P<", plain)
        try:
            re.compile(plain)
        except re.error as exc:
            problems.append("%s: the regular expression does not compile: %s" % (where, exc))

    check(expression, "grok")
    for name, definition in sorted(definitions.items()):
        if not re.match(r"^[A-Z0-9_]+$", str(name)):
            problems.append("pattern_definitions: %r is not a pattern name (upper case, digits and _)" % name)
        check(str(definition), "pattern_definitions.%s" % name)
    return problems
