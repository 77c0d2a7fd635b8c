package platform.loyalty.grok;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.jcodings.specific.UTF8Encoding;
import org.joni.Matcher;
import org.joni.Option;
import org.joni.Regex;
import org.joni.WarnCallback;
import org.joni.exception.JOniException;
import org.opensearch.grok.Grok;
import org.opensearch.grok.MatcherWatchdog;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs the log pipeline's filter chain, given as data (``pipeline_spec()`` of plugins/module_utils/logformat.py),
 * over log lines the way Logstash runs the rendered configuration: json (with its rename) for the lines its
 * condition selects, grok with OpenSearch's grok engine (Joni, the regular expression engine of Logstash's grok),
 * date and the security tag.
 *
 * <p>Request on stdin: {"spec": {...}, "lines": ["..."], "repeat": N, "warmup": W}. Answer on stdout:
 * {"events": [...], "seconds": s, "events_per_second": r, "failed_share": f}; "seconds" covers the N timed passes
 * over all lines only (not the JVM's start, the compilation of the expressions nor the W untimed passes that come
 * first, for the JIT; W defaults to 0). "failed_share" is the share of the events of one pass that carry a failure
 * tag. An expression that does not compile, or names an unknown pattern, ends the program with status 2 and the
 * engine's message on stderr.
 *
 * <p>Left out: geoip (no database here; the chain's other filters do not depend on it). A JSON line's "@timestamp"
 * is merged as a plain key, as the other keys are; Logstash's json filter turns it into the event's time first,
 * which after the rename and the date filter comes to the same "@timestamp".
 */
public final class GrokHarness {

    static final String TAGS = "tags";
    static final String TIMESTAMP = "@timestamp";
    static final int BAD_REQUEST = 2;

    private GrokHarness() {
    }

    /** A request the harness cannot run: its message goes to stderr, the status is {@link #BAD_REQUEST}. */
    static final class RequestException extends Exception {
        private static final long serialVersionUID = 1L;

        RequestException(String message, Throwable cause) {
            super(message, cause);
        }

        RequestException(String message) {
            super(message);
        }
    }

    public static void main(String[] args) {
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        try {
            // Strict JSON, as a JSON parser reads a whole line: text after the object is an error.
            ObjectMapper mapper = new ObjectMapper().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
            JsonNode request = readRequest(mapper, System.in);
            Chain chain = Chain.compile(request.path("spec"), mapper);
            List<String> lines = new ArrayList<>();
            for (JsonNode line : request.path("lines")) {
                if (!line.isTextual()) {
                    throw new RequestException("request: every element of \"lines\" must be a string");
                }
                lines.add(line.asText());
            }
            int repeat = Math.max(1, request.path("repeat").asInt(1));
            int warmup = Math.max(0, request.path("warmup").asInt(0));
            out.println(mapper.writeValueAsString(run(chain, lines, warmup, repeat, mapper)));
            out.flush();
        } catch (RequestException exc) {
            System.err.println(exc.getMessage());
            System.exit(BAD_REQUEST);
        } catch (IOException exc) {
            System.err.println("grok-harness: " + exc.getMessage());
            System.exit(1);
        }
    }

    static JsonNode readRequest(ObjectMapper mapper, InputStream in) throws RequestException {
        try {
            JsonNode request = mapper.readTree(in);
            if (request == null || !request.isObject() || !request.path("spec").isObject()) {
                throw new RequestException("request: a JSON object with \"spec\" (an object) and \"lines\" expected");
            }
            return request;
        } catch (IOException exc) {
            throw new RequestException("request: not JSON: " + exc.getMessage(), exc);
        }
    }

    static ObjectNode run(Chain chain, List<String> lines, int warmup, int repeat, ObjectMapper mapper) {
        List<Map<String, Object>> events = new ArrayList<>(lines.size());
        long checksum = 0;
        for (int pass = 0; pass < warmup; pass++) {
            for (String line : lines) {
                checksum += chain.apply(line).size();
            }
        }
        checksum = 0;
        long started = System.nanoTime();
        for (int pass = 0; pass < repeat; pass++) {
            events.clear();
            for (String line : lines) {
                Map<String, Object> event = chain.apply(line);
                checksum += event.size();
                events.add(event);
            }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        // The failure tags (_grokparsefailure, _jsonparsefailure, _dateparsefailure and custom ones such as
        // _grokparsefailure_springboot) all have "failure" in them.
        int failed = 0;
        for (Map<String, Object> event : events) {
            for (Object tag : (List<?>) event.get(TAGS)) {
                if (tag.toString().contains("failure")) {
                    failed++;
                    break;
                }
            }
        }
        ObjectNode answer = mapper.createObjectNode();
        answer.set("events", mapper.valueToTree(events));
        answer.put("seconds", seconds);
        long total = (long) repeat * lines.size();
        answer.put("events_per_second", seconds > 0 ? total / seconds : 0.0);
        answer.put("failed_share", events.isEmpty() ? 0.0 : (double) failed / events.size());
        answer.put("events_processed", total);
        answer.put("field_count", checksum);
        return answer;
    }

    /** A regular expression of a Logstash condition (`[field] =~ /.../`): Ruby's syntax, searched anywhere. */
    static final class Condition {
        private final Regex regex;

        Condition(String expression) throws RequestException {
            byte[] bytes = expression.getBytes(StandardCharsets.UTF_8);
            try {
                regex = new Regex(bytes, 0, bytes.length, Option.DEFAULT, UTF8Encoding.INSTANCE, WarnCallback.NONE);
            } catch (JOniException exc) {
                throw new RequestException("json.when: " + exc.getMessage(), exc);
            }
        }

        boolean test(String text) {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            Matcher matcher = regex.matcher(bytes);
            return matcher.search(0, bytes.length, Option.DEFAULT) >= 0;
        }
    }

    /** The chain of one spec, compiled once. */
    static final class Chain {
        private Condition jsonWhen;
        private String jsonSource = "message";
        private String jsonFailureTag;
        private final Map<String, String> renames = new LinkedHashMap<>();
        private boolean exclusive;
        private Grok grok;
        private String grokFailureTag;
        private boolean keepEmptyCaptures;
        private String dateField;
        private final List<DateFormat> dateFormats = new ArrayList<>();
        private String dateFailureTag;
        private String securityField;
        private String securityEquals;
        private String securityTag;
        private ObjectMapper mapper;

        static Chain compile(JsonNode spec, ObjectMapper mapper) throws RequestException {
            Chain chain = new Chain();
            chain.mapper = mapper;
            JsonNode json = spec.path("json");
            if (json.isObject()) {
                chain.jsonWhen = new Condition(json.path("when").asText(""));
                chain.jsonSource = json.path("source").asText("message");
                chain.jsonFailureTag = json.path("tag_on_failure").asText("_jsonparsefailure");
                for (Map.Entry<String, JsonNode> rename : json.path("rename").properties()) {
                    chain.renames.put(rename.getKey(), rename.getValue().asText());
                }
                chain.exclusive = json.path("exclusive").asBoolean(false);
            }
            JsonNode grok = spec.path("grok");
            if (grok.isObject()) {
                Map<String, String> bank = new HashMap<>(Grok.BUILTIN_PATTERNS);
                for (Map.Entry<String, JsonNode> definition : grok.path("pattern_definitions").properties()) {
                    bank.put(definition.getKey(), definition.getValue().asText());
                }
                String match = grok.path("match").asText("");
                try {
                    chain.grok = new Grok(bank, match, MatcherWatchdog.noop(), message -> { });
                } catch (IllegalArgumentException | JOniException exc) {
                    throw new RequestException("grok: " + exc.getClass().getSimpleName() + ": " + exc.getMessage(), exc);
                }
                chain.grokFailureTag = grok.path("tag_on_failure").asText("_grokparsefailure");
                chain.keepEmptyCaptures = grok.path("keep_empty_captures").asBoolean(false);
            }
            JsonNode date = spec.path("date");
            if (date.isObject()) {
                chain.dateField = date.path("field").asText("timestamp");
                JsonNode timezone = date.path("timezone");
                ZoneId zone;
                try {
                    zone = timezone.isTextual() ? ZoneId.of(timezone.asText()) : ZoneId.systemDefault();
                } catch (DateTimeException exc) {
                    throw new RequestException("date.timezone: " + exc.getMessage(), exc);
                }
                for (JsonNode format : date.path("formats")) {
                    chain.dateFormats.add(DateFormat.of(format.asText(), zone));
                }
                chain.dateFailureTag = date.path("tag_on_failure").asText("_dateparsefailure");
            }
            JsonNode security = spec.path("security");
            if (security.isObject()) {
                chain.securityField = security.path("field").asText();
                chain.securityEquals = security.path("equals").asText();
                chain.securityTag = security.path("tag").asText();
            }
            return chain;
        }

        Map<String, Object> apply(String line) {
            Map<String, Object> event = new LinkedHashMap<>();
            List<String> tags = new ArrayList<>();
            event.put("message", line);
            boolean jsonLine = false;
            if (jsonWhen != null) {
                Object source = event.get(jsonSource);
                if (source instanceof String && jsonWhen.test((String) source)) {
                    jsonLine = true;
                    parseJson((String) source, event, tags);
                }
            }
            if (grok != null && !(jsonLine && exclusive)) {
                grok(event, tags);
            }
            if (dateField != null && event.get(dateField) != null) {
                date(event, tags);
            }
            if (securityField != null && securityEquals.equals(stringOf(event.get(securityField)))) {
                addTag(tags, securityTag);
            }
            event.remove(TAGS);
            event.put(TAGS, tags);
            return event;
        }

        private void parseJson(String source, Map<String, Object> event, List<String> tags) {
            Object parsed;
            try {
                parsed = mapper.readValue(source, Object.class);
            } catch (JsonProcessingException exc) {
                parsed = null;
            }
            if (!(parsed instanceof Map)) {
                // Logstash's json filter without a target wants an object; anything else is a failure too.
                addTag(tags, jsonFailureTag);
                return;
            }
            for (Map.Entry<?, ?> field : ((Map<?, ?>) parsed).entrySet()) {
                String key = String.valueOf(field.getKey());
                if (TAGS.equals(key) && field.getValue() instanceof List) {
                    for (Object tag : (List<?>) field.getValue()) {
                        addTag(tags, String.valueOf(tag));
                    }
                    continue;
                }
                event.put(key, field.getValue());
            }
            for (Map.Entry<String, String> rename : renames.entrySet()) {
                if (event.containsKey(rename.getKey())) {
                    event.put(rename.getValue(), event.remove(rename.getKey()));
                }
            }
        }

        private void grok(Map<String, Object> event, List<String> tags) {
            Object value = event.get("message");
            Map<String, Object> captures = value == null ? null : grok.captures(stringOf(value));
            if (captures == null) {
                addTag(tags, grokFailureTag);
                return;
            }
            for (Map.Entry<String, Object> capture : captures.entrySet()) {
                Object captured = capture.getValue();
                // Logstash's grok leaves out empty captures unless keep_empty_captures is set.
                if (captured == null || (!keepEmptyCaptures && "".equals(captured))) {
                    continue;
                }
                Object existing = event.get(capture.getKey());
                if (existing == null) {
                    event.put(capture.getKey(), captured);
                } else {
                    // As Logstash's grok without overwrite: a field that is already set becomes a list.
                    List<Object> values = new ArrayList<>();
                    if (existing instanceof List) {
                        values.addAll((List<?>) existing);
                    } else {
                        values.add(existing);
                    }
                    values.add(captured);
                    event.put(capture.getKey(), values);
                }
            }
        }

        private void date(Map<String, Object> event, List<String> tags) {
            String text = stringOf(event.get(dateField));
            for (DateFormat format : dateFormats) {
                Instant instant = format.parse(text);
                if (instant != null) {
                    event.put(TIMESTAMP, DateFormat.UTC_MILLIS.format(instant));
                    return;
                }
            }
            addTag(tags, dateFailureTag);
        }

        private static String stringOf(Object value) {
            return value == null ? null : value.toString();
        }

        private static void addTag(List<String> tags, String tag) {
            if (tag != null && !tag.isEmpty() && !tags.contains(tag)) {
                tags.add(tag);
            }
        }
    }

    /** One format of the date filter: ISO8601, UNIX, UNIX_MS, or a Joda-style pattern read as java.time's. */
    abstract static class DateFormat {
        static final DateTimeFormatter UTC_MILLIS =
            DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

        /** ISO 8601 date and time, 'T' between them, optional fraction (dot or comma) and optional offset. */
        private static final DateTimeFormatter ISO = new DateTimeFormatterBuilder()
            .parseCaseInsensitive()
            .append(DateTimeFormatter.ISO_LOCAL_DATE)
            .optionalStart()
            .appendLiteral('T')
            .appendValue(ChronoField.HOUR_OF_DAY, 2)
            .appendLiteral(':')
            .appendValue(ChronoField.MINUTE_OF_HOUR, 2)
            .optionalStart()
            .appendLiteral(':')
            .appendValue(ChronoField.SECOND_OF_MINUTE, 2)
            .optionalStart()
            .appendFraction(ChronoField.NANO_OF_SECOND, 1, 9, true)
            .optionalEnd()
            .optionalEnd()
            .optionalStart().appendOffset("+HH:MM:ss", "Z").optionalEnd()
            .optionalStart().appendOffset("+HHMM", "Z").optionalEnd()
            .optionalStart().appendOffset("+HH", "Z").optionalEnd()
            .optionalEnd()
            .parseDefaulting(ChronoField.HOUR_OF_DAY, 0)
            .parseDefaulting(ChronoField.MINUTE_OF_HOUR, 0)
            .toFormatter(Locale.ROOT);

        abstract Instant parse(String text);

        static DateFormat of(String format, ZoneId zone) throws RequestException {
            switch (format) {
                case "ISO8601":
                    return new Iso8601(zone);
                case "UNIX":
                    return new Epoch(1000);
                case "UNIX_MS":
                    return new Epoch(1);
                default:
                    try {
                        return new Pattern(DateTimeFormatter.ofPattern(format, Locale.ROOT).withZone(zone));
                    } catch (IllegalArgumentException exc) {
                        throw new RequestException("date.formats: " + format + ": " + exc.getMessage(), exc);
                    }
            }
        }

        static final class Iso8601 extends DateFormat {
            private final ZoneId zone;

            Iso8601(ZoneId zone) {
                this.zone = zone;
            }

            @Override
            Instant parse(String text) {
                // The casual forms Logstash's ISO8601 also reads: a space for the 'T', a comma for the dot.
                char[] chars = text.trim().toCharArray();
                if (chars.length > 10 && chars[10] == ' ') {
                    chars[10] = 'T';
                }
                if (chars.length > 19 && chars[19] == ',') {
                    chars[19] = '.';
                }
                try {
                    TemporalAccessor parsed = ISO.parseBest(new String(chars), OffsetDateTime::from, LocalDateTime::from);
                    if (parsed instanceof OffsetDateTime) {
                        return ((OffsetDateTime) parsed).toInstant();
                    }
                    return ((LocalDateTime) parsed).atZone(zone).toInstant();
                } catch (DateTimeException exc) {
                    return null;
                }
            }
        }

        static final class Epoch extends DateFormat {
            private final long millisPerUnit;

            Epoch(long millisPerUnit) {
                this.millisPerUnit = millisPerUnit;
            }

            @Override
            Instant parse(String text) {
                try {
                    return Instant.ofEpochMilli(Math.round(Double.parseDouble(text.trim()) * millisPerUnit));
                } catch (NumberFormatException exc) {
                    return null;
                }
            }
        }

        static final class Pattern extends DateFormat {
            private final DateTimeFormatter formatter;

            Pattern(DateTimeFormatter formatter) {
                this.formatter = formatter;
            }

            @Override
            Instant parse(String text) {
                try {
                    return ZonedDateTime.from(formatter.parse(text)).toInstant();
                } catch (DateTimeException exc) {
                    return null;
                }
            }
        }
    }
}
