"""The grafana_dashboard filter: a current Grafana dashboard model from a short spec, through the Foundation SDK."""

import copy
import json
import os
import subprocess
import sys

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.filter import grafana_dashboard as plugin

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
BIN = os.path.dirname(sys.executable)

grafana_dashboard = plugin.FilterModule().filters()["grafana_dashboard"]

SELECTOR = 'namespace="$namespace",service=~"$service",color=~"$color"'
SPEC = {
    "title": "Loyalty System - Application Performance",
    "uid": "loyalty-app-performance",
    "tags": ["loyalty", "performance"],
    "namespace": "loyalty-system",
    "services": ["user-service", "point-service", "rewards-service", "admin-service"],
    "panels": [
        {
            "title": "Request rate",
            "expr": "sum by (service, color) (rate(http_server_requests_seconds_count{%s}[5m]))" % SELECTOR,
            "unit": "reqps",
            "legend": "{{service}} {{color}}",
            "min": 0,
        },
        {
            "title": "Error rate",
            "expr": 'sum by (service, color) (rate(http_server_requests_seconds_count{%s,status=~"5.."}[5m]))'
            " / sum by (service, color) (rate(http_server_requests_seconds_count{%s}[5m]))" % (SELECTOR, SELECTOR),
            "unit": "percentunit",
            "min": 0,
            "max": 1,
            "legend": "{{service}} {{color}}",
        },
        {
            "title": "Response time (p95)",
            "expr": "histogram_quantile(0.95, sum by (le, service, color) (rate(http_server_requests_seconds_bucket{%s}[5m])))" % SELECTOR,
            "unit": "s",
            "min": 0,
            "legend": "{{service}} {{color}}",
        },
    ],
    "alerts": [
        {
            "alert": "HighErrorRate",
            "expr": 'sum by (service) (rate(http_server_requests_seconds_count{status=~"5.."}[5m]))'
            " / sum by (service) (rate(http_server_requests_seconds_count[5m])) > 0.05",
            "severity": "warning",
            "summary": "More than 5% of the requests fail",
        },
        {
            "alert": "HighResponseTime",
            "expr": "histogram_quantile(0.95, sum by (le, service) (rate(http_server_requests_seconds_bucket[5m]))) > 1",
            "for": "5m",
            "labels": {"severity": "critical"},
            "annotations": {"summary": "p95 above 1s"},
        },
    ],
}


def spec(**changes):
    """A copy of SPEC with top-level keys replaced (None removes the key)."""
    result = copy.deepcopy(SPEC)
    for key, value in changes.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def panel_spec(index, **changes):
    """A copy of SPEC with panel `index` changed (None removes the key)."""
    result = copy.deepcopy(SPEC)
    for key, value in changes.items():
        if value is None:
            result["panels"][index].pop(key, None)
        else:
            result["panels"][index][key] = value
    return result


@pytest.fixture(name="dashboard", scope="module")
def fixture_dashboard():
    return grafana_dashboard(copy.deepcopy(SPEC))


def walk(value):
    """Every mapping key and scalar in value, depth first."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
    else:
        yield value


def graph_panels(dashboard):
    return [panel for panel in dashboard["panels"] if panel["type"] != "row"]


def variables(dashboard):
    return {variable["name"]: variable for variable in dashboard["templating"]["list"]}


def test_plain_json_data(dashboard):
    assert json.loads(json.dumps(dashboard)) == dashboard
    assert dashboard["title"] == SPEC["title"] and dashboard["uid"] == SPEC["uid"] and dashboard["tags"] == SPEC["tags"]
    assert dashboard["time"] == {"from": "now-1h", "to": "now"}
    assert dashboard["refresh"] == "30s" and dashboard["timezone"] == "utc" and dashboard["editable"] is False
    assert isinstance(dashboard["schemaVersion"], int) and dashboard["schemaVersion"] >= 39


def test_current_panels_only(dashboard):
    assert {panel["type"] for panel in graph_panels(dashboard)} == {"timeseries"}
    keys_and_values = set(item for item in walk(dashboard) if isinstance(item, str))
    assert not {"graph", "yAxes", "yaxes"} & keys_and_values
    assert '"graph"' not in json.dumps(dashboard) and "yAxes" not in json.dumps(dashboard)


def test_units_min_max_as_given(dashboard):
    panels = graph_panels(dashboard)[: len(SPEC["panels"])]
    assert [panel["title"] for panel in panels] == [panel["title"] for panel in SPEC["panels"]]
    for given, panel in zip(SPEC["panels"], panels):
        defaults = panel["fieldConfig"]["defaults"]
        assert defaults["unit"] == given["unit"]
        assert defaults.get("min") == given.get("min") and defaults.get("max") == given.get("max")
        target = panel["targets"][0]
        assert target["expr"] == given["expr"] and target["legendFormat"] == given["legend"]
    assert "max" not in panels[0]["fieldConfig"]["defaults"]


def test_variables(dashboard):
    found = variables(dashboard)
    assert list(found) == ["datasource", "namespace", "service", "color"]
    assert found["datasource"]["type"] == "datasource" and found["datasource"]["query"] == "prometheus"
    assert found["namespace"]["type"] == "constant" and found["namespace"]["query"] == "loyalty-system"
    service = found["service"]
    assert service["type"] == "query"
    assert service["query"] == 'label_values(up{namespace="$namespace"}, service)'
    assert service["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert service["multi"] is True and service["includeAll"] is True
    assert service["regex"] == "/^(user-service|point-service|rewards-service|admin-service)$/"
    color = found["color"]
    assert color["type"] == "custom" and color["query"] == "blue,green"
    assert color["multi"] is True and color["includeAll"] is True


def test_service_variable_unrestricted_without_services():
    assert "regex" not in variables(grafana_dashboard(spec(services=None)))["service"]
    assert "regex" not in variables(grafana_dashboard(spec(services=[])))["service"]


def test_colors_from_the_spec():
    assert variables(grafana_dashboard(spec(colors=["blue", "green", "canary"])))["color"]["query"] == "blue,green,canary"


def test_every_target_uses_the_datasource_variable(dashboard):
    reference = {"type": "prometheus", "uid": "${datasource}"}
    panels = graph_panels(dashboard)
    assert panels
    for panel in panels:
        assert panel["datasource"] == reference
        assert panel["targets"]
        for target in panel["targets"]:
            assert target["datasource"] == reference


def test_grid_without_overlap(dashboard):
    boxes = [panel["gridPos"] for panel in dashboard["panels"]]
    assert len(boxes) == len(SPEC["panels"]) + 1 + len(SPEC["alerts"])
    for box in boxes:
        assert box["w"] > 0 and box["h"] > 0 and 0 <= box["x"] and box["x"] + box["w"] <= 24 and box["y"] >= 0
    cells = set()
    for box in boxes:
        covered = {(x, y) for x in range(box["x"], box["x"] + box["w"]) for y in range(box["y"], box["y"] + box["h"])}
        assert not cells & covered, box
        cells |= covered
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(set(ids)) == len(ids)


def test_alerts_row_and_one_panel_per_alert(dashboard):
    panels = dashboard["panels"]
    rows = [panel for panel in panels if panel["type"] == "row"]
    assert [row["title"] for row in rows] == ["Alerts"]
    row_index = panels.index(rows[0])
    # An expanded row: its panels follow it, and every one lies below it.
    assert rows[0]["collapsed"] is False and rows[0]["panels"] == []
    alert_panels = panels[row_index + 1:]
    assert [panel["type"] for panel in alert_panels] == ["timeseries"] * len(SPEC["alerts"])
    assert [panel["targets"][0]["expr"] for panel in alert_panels] == [alert["expr"] for alert in SPEC["alerts"]]
    assert [panel["title"] for panel in alert_panels] == ["HighErrorRate (warning)", "HighResponseTime (critical)"]
    assert [panel["description"] for panel in alert_panels] == ["More than 5% of the requests fail", "p95 above 1s"]
    assert all(panel["gridPos"]["y"] > rows[0]["gridPos"]["y"] for panel in alert_panels)
    assert all(panel["gridPos"]["y"] < rows[0]["gridPos"]["y"] for panel in panels[:row_index])


def test_empty_optional_texts_are_unset():
    """As a template's default('') gives them: an alert without severity or summary, a panel without legend."""
    given = spec(alerts=[{"alert": "Down", "expr": "up == 0", "severity": "", "summary": ""}])
    given["panels"][0]["legend"] = ""
    dashboard = grafana_dashboard(given)
    alert_panel = dashboard["panels"][-1]
    assert alert_panel["title"] == "Down" and "description" not in alert_panel
    assert "legendFormat" not in dashboard["panels"][0]["targets"][0]
    assert grafana_dashboard(spec(tags=["loyalty", ""]))["tags"] == ["loyalty"]


def test_no_alerts_no_row():
    dashboard = grafana_dashboard(spec(alerts=None))
    assert [panel["type"] for panel in dashboard["panels"]] == ["timeseries"] * len(SPEC["panels"])


def test_deterministic():
    first, second = grafana_dashboard(copy.deepcopy(SPEC)), grafana_dashboard(copy.deepcopy(SPEC))
    assert first == second
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    # Key order too: a file written with to_nice_json (which sorts) or to_json (which does not) stays the same.
    assert json.dumps(first) == json.dumps(second)


def test_input_left_unchanged():
    given = copy.deepcopy(SPEC)
    grafana_dashboard(given)
    assert given == SPEC


@pytest.mark.parametrize("given,message", [
    (spec(title=None), r"title is missing: set title to the dashboard's name"),
    (spec(title=""), r"title must be a non-empty string"),
    (spec(uid=None), r"uid is missing: set uid to a stable identifier"),
    (spec(uid="loyalty app"), r"uid is 'loyalty app': use letters, digits, '-' and '_' only, at most 40 characters"),
    (spec(uid="x" * 41), r"uid is 'x{41}': use letters, digits, '-' and '_' only, at most 40 characters"),
    (spec(namespace=None), r"namespace is missing: set namespace to the Kubernetes namespace"),
    (spec(panels=None), r"panels is missing: give at least one panel with title and expr"),
    (spec(panels=[]), r"panels is empty"),
    (spec(panels={"title": "x"}), r"panels must be a list of mappings, got dict"),
    (panel_spec(1, expr=None), r"panels\[1\]\.expr is missing: give the panel 'Error rate' the PromQL query it draws as expr"),
    (panel_spec(0, expr=""), r"panels\[0\]\.expr must be a non-empty string"),
    (panel_spec(0, title=None), r"panels\[0\]\.title is missing: give each panel a title"),
    (panel_spec(0, unit="req/s"), r"panels\[0\]\.unit is 'req/s', a unit Grafana does not know.*grafana_foundation_sdk\.models\.units"),
    (panel_spec(0, unit="reqs"), r"panels\[0\]\.unit is 'reqs', a unit Grafana does not know \(did you mean reqps"),
    (panel_spec(0, unit=5), r"panels\[0\]\.unit must be a string, a Grafana unit id such as reqps, percentunit or s, got int"),
    (panel_spec(1, min="0"), r"panels\[1\]\.min must be a number, got str '0': write it unquoted"),
    (panel_spec(1, max=True), r"panels\[1\]\.max must be a number, got bool"),
    (panel_spec(1, min=2), r"panels\[1\]\.min \(2\) is above panels\[1\]\.max \(1\): swap them"),
    (panel_spec(0, units="reqps"), r"panels\[0\] has unknown key\(s\) units: use only title, expr"),
    (spec(dashboards=[]), r"the spec has unknown key\(s\) dashboards: use only title, uid"),
    (spec(services=["User Service"]), r"services\[0\] is 'User Service': give the Kubernetes name of the service"),
    (spec(tags="loyalty"), r"tags must be a list of strings, got str"),
    (spec(alerts=[{"expr": "up == 0"}]), r"alerts\[0\]\.alert is missing"),
    (spec(alerts=[{"alert": "Down"}]), r"alerts\[0\]\.expr is missing: give the alert 'Down' its PromQL expression as expr"),
    (spec(alerts=[{"alert": "Down", "expr": "up == 0", "labels": ["critical"]}]), r"alerts\[0\]\.labels must be a mapping"),
    (["not", "a", "mapping"], r"the input must be a mapping with title, uid, namespace and panels, got list"),
])
def test_input_errors_name_the_field_and_the_fix(given, message):
    with pytest.raises(AnsibleFilterError, match=r"^loyalty\.platform\.grafana_dashboard: " + message):
        grafana_dashboard(given)


def test_every_sdk_unit_is_accepted():
    for unit in ("reqps", "percentunit", "percent", "s", "ms", "bytes", "short", "none"):
        assert graph_panels(grafana_dashboard(panel_spec(0, unit=unit)))[0]["fieldConfig"]["defaults"]["unit"] == unit


def test_without_the_sdk(monkeypatch):
    monkeypatch.setattr(plugin, "HAS_GRAFANA_FOUNDATION_SDK", False)
    monkeypatch.setattr(plugin, "GRAFANA_FOUNDATION_SDK_IMPORT_ERROR", ImportError("No module named 'grafana_foundation_sdk'"))
    with pytest.raises(AnsibleFilterError, match=r"pip install grafana-foundation-sdk"):
        grafana_dashboard(copy.deepcopy(SPEC))


def _ansible_env(tmp_path):
    # An empty configuration, so that no ansible.cfg of the machine or the repository changes the run.
    (tmp_path / "ansible.cfg").write_text("[defaults]\n")
    env = dict(os.environ)
    env.update({
        "ANSIBLE_HOME": str(tmp_path / "ansible-home"),
        "ANSIBLE_COLLECTIONS_PATH": os.path.join(REPO_ROOT, ".collections"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_CONFIG": str(tmp_path / "ansible.cfg"),
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
    })
    return env


def test_playbook_writes_it_idempotently(tmp_path):
    """Through Ansible: the FQCN resolves, and a second run writing the dashboard changes nothing."""
    (tmp_path / "spec.json").write_text(json.dumps(SPEC))
    dest = tmp_path / "dashboard.json"
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- hosts: localhost\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - ansible.builtin.copy:\n"
        "        content: \"{{ lookup('ansible.builtin.file', spec_file) | from_json | loyalty.platform.grafana_dashboard | to_nice_json }}\"\n"
        "        dest: \"{{ dest }}\"\n"
        "        mode: \"0644\"\n"
    )
    command = [os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "-c", "local", str(playbook),
               "-e", json.dumps({"spec_file": str(tmp_path / "spec.json"), "dest": str(dest)})]
    runs = [subprocess.run(command, env=_ansible_env(tmp_path), capture_output=True, text=True, timeout=300, check=False) for _run in range(2)]
    for run in runs:
        assert run.returncode == 0, run.stdout + run.stderr
    assert "changed=1" in runs[0].stdout and "changed=0" in runs[1].stdout, runs[1].stdout
    assert json.loads(dest.read_text()) == grafana_dashboard(copy.deepcopy(SPEC))


def test_ansible_doc_renders(tmp_path):
    run = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", "filter", "loyalty.platform.grafana_dashboard"],
                         env=_ansible_env(tmp_path), capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr
    assert "grafana-foundation-sdk" in run.stdout and "_input" in run.stdout
