"""The grok expressions compile in the real engine, and grok_problems rejects what the engine rejects."""

import pytest

from ansible_collections.loyalty.platform.plugins.module_utils.logformat import (
    GUIDE_SPEC, STANDARD_GROK_PATTERNS, grok_problems, pipeline_spec)
from grok_harness import HarnessError

CORRECTED = pipeline_spec()["grok"]


def _spec(match, definitions=None):
    return {"grok": {"match": match, "pattern_definitions": definitions or {}, "tag_on_failure": "_grokparsefailure"}}


def test_the_corrected_expression_compiles_in_the_engine(harness):
    assert grok_problems(CORRECTED["match"], CORRECTED["pattern_definitions"]) == []
    answer = harness(_spec(CORRECTED["match"], CORRECTED["pattern_definitions"]), ["x"])
    assert answer["events"] == [{"message": "x", "tags": ["_grokparsefailure"]}]


def test_the_guide_expression_compiles_too(harness):
    # The guide's grok is valid; it is wrong for the services' format (test_logging_guide_chain.py).
    assert grok_problems(GUIDE_SPEC["grok"]["match"]) == []
    harness(_spec(GUIDE_SPEC["grok"]["match"]), [])


def test_every_pattern_grok_problems_knows_is_in_the_engine(harness):
    expression = "|".join("%%{%s}" % name for name in sorted(STANDARD_GROK_PATTERNS))
    assert grok_problems(expression) == []
    harness(_spec(expression), [])


BROKEN = [
    ("unknown_pattern", "%{NOSUCHPATTERN:x} %{GREEDYDATA:rest}", None, "NOSUCHPATTERN"),
    ("custom_pattern_not_defined", CORRECTED["match"], None, "LOYALTY_TIMESTAMP"),
    ("unclosed_group", "(%{WORD:a} %{GREEDYDATA:rest}", None, "parenthesis"),
    ("unopened_group", "%{WORD:a}) %{GREEDYDATA:rest}", None, "parenthesis"),
    ("broken_definition", "%{MEMBER_ID:member}", {"MEMBER_ID": "M-(\\d+"}, "parenthesis"),
    ("unclosed_class", "%{WORD:a} [%{GREEDYDATA:rest}", None, "char-class"),
]


@pytest.mark.parametrize("expression, definitions, engine_says", [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_the_engine_and_grok_problems_both_reject(harness, expression, definitions, engine_says):
    with pytest.raises(HarnessError) as failure:
        harness(_spec(expression, definitions), ["2026-03-14 09:26:53 [main] INFO  [,] c.l.p.Foo - bar"])
    assert failure.value.returncode == 2
    assert engine_says in failure.value.stderr
    assert grok_problems(expression, definitions)


def test_grok_problems_names_the_unknown_pattern():
    problems = grok_problems("%{NOSUCHPATTERN:x} %{GREEDYDATA:rest}")
    assert len(problems) == 1 and "NOSUCHPATTERN" in problems[0]
