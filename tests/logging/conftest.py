"""The grok harness for the log pipeline's tests: one JVM run per distinct request, for the whole session."""

import json

import pytest

from grok_harness import HarnessError, missing, run_harness


@pytest.fixture(scope="session")
def harness():
    """run(spec, lines, timezone="UTC", repeat=1) -> the harness's answer; HarnessError when it exits non-zero.

    The JVM's default zone is UTC unless a test names another (None: the machine's), so no result depends on where
    the suite runs. Answers (and errors) are kept per request: asking twice runs the engine once.
    """
    problem = missing()
    if problem:
        pytest.fail(problem)
    answers = {}

    def run(spec, lines, timezone="UTC", repeat=1):
        key = json.dumps([spec, list(lines), timezone, repeat], sort_keys=True)
        if key not in answers:
            try:
                answers[key] = run_harness(spec, lines, repeat=repeat, timezone=timezone)
            except HarnessError as exc:
                answers[key] = exc
        answer = answers[key]
        if isinstance(answer, HarnessError):
            raise answer
        return answer

    return run
