"""Every role's defaults/main.yml and meta/argument_specs.yml say the same thing.

A role's public variables live in two files: defaults/main.yml gives the values the role really runs with,
meta/argument_specs.yml documents them (ansible-doc, the role's automatic argument validation). Ansible never
applies a spec's `default`, so a spec that disagrees with the defaults file documents a value nobody gets.
For each role under roles/ and each entry point (defaults/<entry point>.yml):

* every variable of the defaults file has a spec entry, and every spec entry a default, unless it is
  `required: true` (then it has none, in either file, and nor do required sub-options);
* a spec `default` equals the defaults file's value, strictly (same types, 1 is not true);
* a default that is a template (it contains "{{") has no literal spec default: the spec either documents no
  default (the description says where the value comes from) or repeats the same template text;
* a default that is not a template is repeated in the spec, and satisfies the spec itself (types, choices,
  required sub-options), checked with Ansible's own argument spec validator.
"""

import os

import pytest
import yaml

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
ROLES_DIR = os.path.join(REPO_ROOT, "roles")


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _entry_points():
    """(role, entry point, its defaults file's values, its spec options) for every role and entry point."""
    found = []
    for role in sorted(os.listdir(ROLES_DIR)):
        spec_path = os.path.join(ROLES_DIR, role, "meta", "argument_specs.yml")
        defaults_dir = os.path.join(ROLES_DIR, role, "defaults")
        if not os.path.isfile(spec_path):
            assert not os.path.isfile(os.path.join(defaults_dir, "main.yml")), "role %s has defaults but no meta/argument_specs.yml" % role
            continue
        specs = _load(spec_path).get("argument_specs") or {}
        assert "main" in specs, "%s: meta/argument_specs.yml has no main entry point" % role
        for entry, spec in sorted(specs.items()):
            defaults_path = os.path.join(defaults_dir, entry + ".yml")
            defaults = _load(defaults_path) if os.path.isfile(defaults_path) else {}
            found.append(pytest.param(role, entry, defaults, spec.get("options") or {}, id="%s-%s" % (role, entry)))
    return found


ENTRY_POINTS = _entry_points()


def _templated(value):
    """True when the value is, or holds, a Jinja template."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, dict):
        return any(_templated(item) for item in value.values())
    if isinstance(value, list):
        return any(_templated(item) for item in value)
    return False


def _same(left, right):
    """Strict equality: the same YAML types all the way down (True is not 1, "1" is not 1)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(_same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right))
    return left == right


def _required_with_default(options, path=""):
    """Paths of options (sub-options included) that are required and still have a spec default."""
    found = []
    for name, option in (options or {}).items():
        where = path + name
        if option.get("required") and "default" in option:
            found.append(where)
        found += _required_with_default(option.get("options"), where + ".")
    return found


def test_every_role_is_checked():
    roles = {param.values[0] for param in ENTRY_POINTS}
    assert roles == {name for name in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, name))}


@pytest.mark.parametrize("role, entry, defaults, options", ENTRY_POINTS)
def test_every_default_is_declared_and_every_declared_option_has_a_default(role, entry, defaults, options):
    undeclared = sorted(set(defaults) - set(options))
    assert not undeclared, "%s: defaults/%s.yml sets %s, which meta/argument_specs.yml does not declare" % (role, entry, undeclared)
    missing = sorted(name for name, option in options.items() if name not in defaults and not option.get("required"))
    assert not missing, "%s: meta/argument_specs.yml declares %s, which have no value in defaults/%s.yml (nor required: true)" % (
        role, missing, entry)


@pytest.mark.parametrize("role, entry, defaults, options", ENTRY_POINTS)
def test_required_options_have_no_default(role, entry, defaults, options):
    in_defaults = sorted(name for name, option in options.items() if option.get("required") and name in defaults)
    assert not in_defaults, "%s: %s are required: true but defaults/%s.yml gives them a value" % (role, in_defaults, entry)
    with_default = _required_with_default(options)
    assert not with_default, "%s: %s are required: true and have a spec default" % (role, with_default)


@pytest.mark.parametrize("role, entry, defaults, options", ENTRY_POINTS)
def test_spec_defaults_equal_the_defaults_file(role, entry, defaults, options):
    wrong = []
    for name, value in sorted(defaults.items()):
        option = options.get(name) or {}
        if _templated(value):
            if "default" in option and not _same(option["default"], value):
                wrong.append("%s: the spec's default %r is a literal, while the real default is the template %r "
                             "(drop the spec default and describe where the value comes from)" % (name, option["default"], value))
        elif "default" not in option:
            wrong.append("%s: the spec documents no default, while defaults/%s.yml gives %r" % (name, entry, value))
        elif not _same(option["default"], value):
            wrong.append("%s: the spec's default %r differs from defaults/%s.yml's %r" % (name, option["default"], entry, value))
    assert not wrong, "%s:\n  %s" % (role, "\n  ".join(wrong))


@pytest.mark.parametrize("role, entry, defaults, options", ENTRY_POINTS)
def test_literal_defaults_satisfy_their_own_spec(role, entry, defaults, options):
    literal = {name: value for name, value in defaults.items() if name in options and not _templated(value)}
    spec = {name: options[name] for name in literal}
    result = ArgumentSpecValidator(spec).validate(literal)
    assert result.error_messages == [], "%s: defaults/%s.yml does not satisfy meta/argument_specs.yml" % (role, entry)


# The checks above must be able to fail: each drift they exist for, on a small made-up role.
DRIFTS = [
    pytest.param({"r_a": 1}, {}, test_every_default_is_declared_and_every_declared_option_has_a_default, id="undeclared-default"),
    pytest.param({}, {"r_a": {"type": "int", "default": 1}}, test_every_default_is_declared_and_every_declared_option_has_a_default,
                 id="declared-without-default"),
    pytest.param({"r_a": 1}, {"r_a": {"type": "int", "required": True}}, test_required_options_have_no_default, id="required-in-defaults"),
    pytest.param({"r_a": {"b": 1}}, {"r_a": {"type": "dict", "default": {"b": 1}, "options": {"b": {"type": "int", "required": True, "default": 1}}}},
                 test_required_options_have_no_default, id="required-sub-option-with-default"),
    pytest.param({"r_a": 2}, {"r_a": {"type": "int", "default": 1}}, test_spec_defaults_equal_the_defaults_file, id="other-value"),
    pytest.param({"r_a": True}, {"r_a": {"type": "bool", "default": 1}}, test_spec_defaults_equal_the_defaults_file, id="other-type"),
    pytest.param({"r_a": [1]}, {"r_a": {"type": "list"}}, test_spec_defaults_equal_the_defaults_file, id="literal-not-documented"),
    pytest.param({"r_a": "{{ other | default([]) }}"}, {"r_a": {"type": "list", "default": []}}, test_spec_defaults_equal_the_defaults_file,
                 id="templated-with-literal-spec-default"),
    pytest.param({"r_a": {"host": "h"}}, {"r_a": {"type": "dict", "default": {"host": "h"}, "options": {
        "host": {"type": "str", "required": True}, "name": {"type": "str", "required": True}}}},
        test_literal_defaults_satisfy_their_own_spec, id="default-misses-a-required-sub-option"),
    pytest.param({"r_a": "x"}, {"r_a": {"type": "str", "choices": ["y"], "default": "x"}}, test_literal_defaults_satisfy_their_own_spec,
                 id="default-not-among-the-choices"),
]


@pytest.mark.parametrize("defaults, options, check", DRIFTS)
def test_each_drift_is_caught(defaults, options, check):
    with pytest.raises(AssertionError):
        check("made-up", "main", defaults, options)


def test_agreeing_files_pass():
    defaults = {"r_a": 1, "r_b": "{{ r_a }}", "r_c": "{{ r_a }}", "r_d": {"host": "h", "port": 1}}
    options = {
        "r_a": {"type": "int", "default": 1},
        "r_b": {"type": "str"},
        "r_c": {"type": "str", "default": "{{ r_a }}"},
        "r_d": {"type": "dict", "default": {"host": "h", "port": 1}, "options": {
            "host": {"type": "str", "required": True}, "port": {"type": "int", "required": True}}},
        "r_e": {"type": "str", "required": True},
    }
    for check in (test_every_default_is_declared_and_every_declared_option_has_a_default, test_required_options_have_no_default,
                  test_spec_defaults_equal_the_defaults_file, test_literal_defaults_satisfy_their_own_spec):
        check("made-up", "main", defaults, options)
