"""promtool unit tests of the monitoring role's alert and recording rules.

The rules are rendered the way the role renders them (its render.yml, then rules.yml.j2, by ansible-playbook on
localhost), once with the role's defaults and once with other thresholds. Every tests/promtool/*.yml runs against
the default rendering with the Prometheus 3 promtool (range selectors are left-open there, and the test files are
written for that): PROMTOOL if set, else the one tools/build-prometheus.sh builds (make bootstrap).
"""

import copy
import glob
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PROMTOOL_TESTS = os.path.join(REPO_ROOT, "tests", "promtool")
TEST_FILES = sorted(os.path.basename(path) for path in glob.glob(os.path.join(PROMTOOL_TESTS, "*.yml")))
RULES_TEMPLATE = os.path.join(REPO_ROOT, "roles", "monitoring", "templates", "rules.yml.j2")
NAMESPACE = "loyalty-system-production"
RENDER_VARS = {
    "loyalty_environment": "production",
    "monitoring_dashboards_enabled": False,
    "monitoring_apps_namespace": NAMESPACE,
    "monitoring_backup_alerts": True,
}
CHANGED_VARS = {"monitoring_error_rate_threshold": 0.2, "monitoring_slo_availability_objective": 0.99}
RUNBOOKS = "https://runbooks.loyalty-system.internal/alerts/"


def _promtool_path():
    """PROMTOOL, else the promtool of tools/build-prometheus.sh; never a silent skip."""
    path = os.environ.get("PROMTOOL")
    if path:
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            pytest.fail("PROMTOOL=%s is not an executable file" % path)
        return path
    script = os.path.join(REPO_ROOT, "tools", "build-prometheus.sh")
    if not os.path.exists(script):
        pytest.fail("no promtool: set PROMTOOL, or run make bootstrap (%s is missing)" % script)
    result = subprocess.run([script, "--print"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        pytest.fail("no promtool: run make bootstrap (it builds Prometheus 3 and promtool), or set PROMTOOL\n%s"
                    % result.stderr.strip())
    path = os.path.join(result.stdout.strip(), "promtool")
    if not os.access(path, os.X_OK):
        pytest.fail("tools/build-prometheus.sh --print names %s, which is not executable: run make bootstrap" % path)
    return path


@pytest.fixture(scope="module")
def promtool():
    path = _promtool_path()
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
    match = re.search(r"version (\d+)\.(\d+)\.(\d+)", version.stdout + version.stderr)
    # The test files rely on Prometheus 3's left-open ranges; a 2.x promtool would judge them wrongly.
    if not match or int(match.group(1)) < 3:
        pytest.fail("%s is not a Prometheus 3 promtool (%r): run make bootstrap, or point PROMTOOL at one"
                    % (path, ((version.stdout or version.stderr).strip().splitlines() or [""])[0]))
    return path


def _render(directory, extra_vars=None, dashboards=False):
    """Render rules.yml.j2 into directory/rules.yml through the role, as its tasks do; return its path.
    With dashboards, the dashboards the role builds are also written, to directory/dashboards.json."""
    rules = os.path.join(str(directory), "rules.yml")
    tasks = [
        {"ansible.builtin.include_role": {"name": "loyalty.platform.monitoring", "tasks_from": "render.yml", "public": True}},
        {"ansible.builtin.template": {"src": RULES_TEMPLATE, "dest": rules, "mode": "0644"}},
    ]
    if dashboards:
        extra_vars = dict(extra_vars or {}, monitoring_dashboards_enabled=True)
        tasks.append({"ansible.builtin.copy": {"content": "{{ _monitoring_dashboards | to_json }}",
                                               "dest": os.path.join(str(directory), "dashboards.json"), "mode": "0644"}})
    play = [{
        "hosts": "localhost",
        "gather_facts": False,
        "vars": dict(RENDER_VARS, ansible_python_interpreter="{{ ansible_playbook_python }}", **(extra_vars or {})),
        "tasks": tasks,
    }]
    playbook = os.path.join(str(directory), "render.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        yaml.safe_dump(play, handle, sort_keys=False)
    env = dict(
        os.environ,
        ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO_ROOT, ".collections"),
        ANSIBLE_CONFIG=os.path.join(REPO_ROOT, "ansible.cfg"),
    )
    ansible_playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    # -i localhost, and a local connection: the repo's default inventory is not needed.
    result = subprocess.run(
        [ansible_playbook, "-i", "localhost,", "-c", "local", playbook],
        cwd=str(directory), env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    assert result.returncode == 0, "rendering the rules failed:\n%s\n%s" % (result.stdout, result.stderr)
    return rules


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The default rendering, with every promtool test file beside it (their rule_files: [rules.yml])."""
    directory = tmp_path_factory.mktemp("monitoring-rules")
    _render(directory)
    for name in TEST_FILES:
        shutil.copy(os.path.join(PROMTOOL_TESTS, name), str(directory))
    return directory


@pytest.fixture(scope="module")
def rendered_changed(tmp_path_factory):
    """The rendering with a 20 % error-rate threshold and a 99 % availability objective."""
    directory = tmp_path_factory.mktemp("monitoring-rules-changed")
    _render(directory, CHANGED_VARS)
    return directory


def _run(promtool, directory, *args):
    result = subprocess.run([promtool, *args], cwd=str(directory), capture_output=True, text=True, check=False, timeout=120)
    return result.returncode, (result.stdout + result.stderr).strip()


def _load(path):
    with open(str(path), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_there_are_promtool_tests():
    assert TEST_FILES, "no promtool test files in %s" % PROMTOOL_TESTS


@pytest.mark.parametrize("name", TEST_FILES)
def test_promtool_unit_tests(promtool, rendered, name):
    code, output = _run(promtool, rendered, "test", "rules", name)
    assert code == 0, "promtool test rules %s failed:\n%s" % (name, output)


def test_rules_pass_promtool_check(promtool, rendered):
    code, output = _run(promtool, rendered, "check", "rules", "rules.yml")
    assert code == 0, "promtool check rules failed:\n%s" % output


def _cases(kind):
    """Every alert_rule_test or promql_expr_test case of the promtool test files."""
    for name in TEST_FILES:
        for group in _load(os.path.join(PROMTOOL_TESTS, name)).get("tests") or []:
            yield from group.get(kind) or []


def test_every_rule_is_tested(rendered):
    """Each alerting rule (the burn-rate pairs apart, by their labels) fires in some test and is silent in some
    test; each recording rule is read by some promql_expr_test."""
    rules = [rule for group in _load(rendered / "rules.yml")["groups"] for rule in group["rules"]]
    alert_cases = list(_cases("alert_rule_test"))
    firing = [(case["alertname"], alert.get("exp_labels") or {}) for case in alert_cases for alert in case.get("exp_alerts") or []]
    silent = {case["alertname"] for case in alert_cases if not case.get("exp_alerts")}
    exprs = " ".join(case["expr"] for case in _cases("promql_expr_test"))
    problems = []
    for rule in rules:
        if "alert" in rule:
            own = {key: str(value) for key, value in (rule.get("labels") or {}).items()}
            if not any(name == rule["alert"] and own.items() <= labels.items() for name, labels in firing):
                problems.append("%s %s: no alert_rule_test expects it to fire" % (rule["alert"], own))
            if rule["alert"] not in silent:
                problems.append("%s: no alert_rule_test expects it silent" % rule["alert"])
        elif not re.search(r"%s(?![\w:])" % re.escape(rule["record"]), exprs):
            problems.append("%s: no promql_expr_test reads it" % rule["record"])
    assert not problems, "rules the promtool tests do not cover:\n  " + "\n  ".join(sorted(set(problems)))


def _series(service, pod, status, per_minute):
    labels = ('job="loyalty-pods",namespace="%s",service="%s",pod="%s",color="blue",uri="/points",method="GET",'
              'status="%s",outcome="%s"') % (NAMESPACE, service, pod, status, "SUCCESS" if status == "200" else "SERVER_ERROR")
    return {"series": "http_server_requests_seconds_count{%s}" % labels, "values": "10000+%dx20" % per_minute}


def _error_rate_alert(service, share, threshold):
    return {
        "exp_labels": {"severity": "warning", "namespace": NAMESPACE, "service": service},
        "exp_annotations": {
            "summary": "High error rate on %s" % service,
            "description": "%s of the requests to %s in %s answer 5xx (threshold %s %%)." % (share, service, NAMESPACE, threshold),
            "runbook_url": RUNBOOKS + "higherrorrate",
        },
    }


def _burn_alert(service, share, objective):
    return {
        "exp_labels": {"severity": "critical", "long_window": "1h", "short_window": "5m", "namespace": NAMESPACE, "service": service},
        "exp_annotations": {
            "summary": "%s burns its error budget 14.4x too fast" % service,
            "description": "%s answers 5xx to %s of its requests over 1h, and still over 5m: at this rate the %s %% availability"
                           " objective's 30-day budget lasts 50.0 hours." % (service, share, objective),
            "runbook_url": RUNBOOKS + "errorbudgetburnfast",
        },
    }


def _threshold_test(high_error_rate, burn_fast):
    """point-service at 10 % errors and admin-service at 25 %, from the start; the alerts expected at 10m (the 6h/30m
    burn pair is still pending then: its for is 15m)."""
    return {
        "rule_files": ["rules.yml"],
        "evaluation_interval": "1m",
        "tests": [{
            "interval": "1m",
            "input_series": [
                _series("point-service", "point-service-blue-7d9f", "200", 90),
                _series("point-service", "point-service-blue-7d9f", "500", 10),
                _series("admin-service", "admin-service-blue-3e3e", "200", 75),
                _series("admin-service", "admin-service-blue-3e3e", "500", 25),
            ],
            "alert_rule_test": [
                {"eval_time": "10m", "alertname": "HighErrorRate", "exp_alerts": high_error_rate},
                {"eval_time": "10m", "alertname": "ErrorBudgetBurnFast", "exp_alerts": burn_fast},
            ],
        }],
    }


def _write(directory, name, content):
    with open(os.path.join(str(directory), name), "w", encoding="utf-8") as handle:
        yaml.safe_dump(content, handle, sort_keys=False)


def test_thresholds_follow_the_role_parameters(promtool, rendered, rendered_changed):
    """The same traffic against both renderings: 10 % errors fire HighErrorRate at the default 5 % and stay silent at
    20 %; they burn a 99.9 % objective's budget 100 times too fast (above 14.4), a 99 % one's 10 times (below)."""
    defaults = _threshold_test(
        [_error_rate_alert("point-service", "10%", "5.0"), _error_rate_alert("admin-service", "25%", "5.0")],
        [_burn_alert("point-service", "10%", "99.9"), _burn_alert("admin-service", "25%", "99.9")],
    )
    changed = _threshold_test(
        [_error_rate_alert("admin-service", "25%", "20.0")],
        [_burn_alert("admin-service", "25%", "99.0")],
    )
    _write(rendered, "thresholds_default.yml", defaults)
    code, output = _run(promtool, rendered, "test", "rules", "thresholds_default.yml")
    assert code == 0, "the default thresholds:\n%s" % output
    _write(rendered_changed, "thresholds_changed.yml", changed)
    code, output = _run(promtool, rendered_changed, "test", "rules", "thresholds_changed.yml")
    assert code == 0, "the changed thresholds (%s):\n%s" % (CHANGED_VARS, output)
    # And the default expectations do not hold for the changed rules: point-service's alerts are gone.
    _write(rendered_changed, "thresholds_default.yml", defaults)
    code, output = _run(promtool, rendered_changed, "test", "rules", "thresholds_default.yml")
    assert code != 0 and "point-service" in output, "the changed thresholds fire as the defaults do:\n%s" % output


def test_promtool_fails_a_wrong_expectation(promtool, rendered):
    """The harness can fail: ServiceDown expected after 50 s of up == 0, where its for is 1m."""
    wrong = copy.deepcopy(_load(os.path.join(PROMTOOL_TESTS, "service_down.yml")))
    group = wrong["tests"][0]
    firing = next(case for case in group["alert_rule_test"] if case["exp_alerts"])
    group["alert_rule_test"] = [dict(firing, eval_time="110s")]
    _write(rendered, "wrong_expectation.yml", wrong)
    code, output = _run(promtool, rendered, "test", "rules", "wrong_expectation.yml")
    assert code != 0, "promtool accepted a wrong expectation:\n%s" % output
    assert "ServiceDown" in output and "FAILED" in output, output


# Grafana's variables, replaced by values of the right kind so that promtool can parse the dashboards' queries.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$namespace": NAMESPACE, "$service": ".*", "$color": ".*"}


def test_every_dashboard_expression_parses(promtool, tmp_path):
    """The dashboards' queries, each as a recording rule of a scratch rules file, pass promtool check rules; the
    alert panels carry exactly the alerts' own expressions."""
    _render(tmp_path, dashboards=True)
    dashboards = _load(tmp_path / "dashboards.json")
    rules = _load(tmp_path / "rules.yml")
    queries = []
    for dashboard in dashboards:
        for panel in dashboard["panels"]:
            queries += [target["expr"] for target in panel.get("targets", [])]
    assert len(queries) >= 3 + len([r for g in rules["groups"] for r in g["rules"] if "alert" in r])
    parsed = []
    for expr in queries:
        for name, value in GRAFANA_VARIABLES.items():
            expr = expr.replace(name, value)
        assert "$" not in expr.replace("$1", ""), expr
        parsed.append({"record": "dashboard:query:%d" % len(parsed), "expr": expr})
    _write(tmp_path, "queries.yml", {"groups": [{"name": "dashboards", "rules": parsed}]})
    code, output = _run(promtool, tmp_path, "check", "rules", "queries.yml")
    assert code == 0, output
    alert_exprs = {r["expr"].strip() for g in rules["groups"] for r in g["rules"] if "alert" in r}
    assert alert_exprs <= {query.strip() for query in queries}
