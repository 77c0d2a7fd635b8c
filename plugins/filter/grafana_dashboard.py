# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: grafana_dashboard
short_description: A Grafana dashboard of Prometheus time series panels, built with the Grafana Foundation SDK
version_added: 0.1.0
description:
  - Builds the JSON model of a Grafana dashboard (current schema, C(timeseries) panels with their unit, min and max in
    C(fieldConfig)) from a short spec, through the builders of the Python package C(grafana-foundation-sdk).
  - The dashboard has four template variables. V(datasource) picks a Prometheus data source and every panel and query
    uses it as C(${datasource}). V(namespace) is a hidden constant holding O(_input.namespace). V(service) lists the
    C(service) label of C(up) in that namespace (multi-value, with All), limited to O(_input.services) when given.
    V(color) offers the colors (multi-value, with All).
  - The O(_input.panels) come first, two to a line, then a row C(Alerts) with one panel per entry of O(_input.alerts)
    drawing the alert's expression.
  - The time range is the last hour, refreshed every 30 seconds, in UTC; the dashboard is read-only in Grafana, as it
    is provisioned from here.
  - The same spec always gives the same result, so a task that writes it changes nothing on a second run.
  - Fails naming the field and the fix when the spec is incomplete or malformed, or when C(grafana-foundation-sdk) is
    not installed on the controller.
requirements:
  - grafana-foundation-sdk (the version requirements.txt pins)
options:
  _input:
    description:
      - The dashboard spec. Keys other than those below are refused, so that a misspelt key is not ignored.
      - An optional text given as an empty string counts as unset.
    type: dict
    required: true
    suboptions:
      title:
        description: The dashboard's title.
        type: str
        required: true
      uid:
        description:
          - The dashboard's stable identifier, so that each run updates the same dashboard.
          - Letters, digits, V(-) and V(_), at most 40 characters.
        type: str
        required: true
      tags:
        description: The dashboard's tags. Empty strings are left out.
        type: list
        elements: str
        default: []
      namespace:
        description: The Kubernetes namespace of the services, the value of the constant variable V(namespace).
        type: str
        required: true
      services:
        description:
          - The services the V(service) variable offers, when some of the namespace's C(up) series are not of interest.
          - Kubernetes names (lowercase letters, digits and V(-)). Empty or unset offers every service of the namespace.
        type: list
        elements: str
        default: []
      colors:
        description: The values of the V(color) variable.
        type: list
        elements: str
        default: [blue, green]
      panels:
        description: The time series panels, in order. At least one.
        type: list
        elements: dict
        required: true
        suboptions:
          title:
            description: The panel's title.
            type: str
            required: true
          expr:
            description: The PromQL query. It can use C($namespace), C($service) and C($color).
            type: str
            required: true
          legend:
            description: The legend format of the series, for example C({{service}} {{color}}).
            type: str
          unit:
            description:
              - A Grafana unit id, one of those the SDK knows (C(grafana_foundation_sdk.models.units)), for example
                V(reqps), V(percentunit), V(s), V(bytes) or V(short).
            type: str
          min:
            description: The lowest value of the axis.
            type: float
          max:
            description: The highest value of the axis; not below O(_input.panels[].min).
            type: float
          description:
            description: The panel's description, shown in its info tooltip.
            type: str
      alerts:
        description:
          - The Prometheus alerting rules to show, one panel each. A rule from a rules file can be given as it is;
            C(for), C(keep_firing_for), C(labels) and C(annotations) are accepted and only C(labels.severity) and
            C(annotations.summary) are read.
        type: list
        elements: dict
        default: []
        suboptions:
          alert:
            description: The alert's name, the panel's title.
            type: str
            required: true
          expr:
            description: The alert's expression, the panel's query.
            type: str
            required: true
          severity:
            description: Shown in the panel's title. Defaults to C(labels.severity).
            type: str
          summary:
            description: The panel's description. Defaults to C(annotations.summary).
            type: str
author:
  - Loyalty platform team (@loyalty-platform)
"""

EXAMPLES = r"""
- name: Write the application performance dashboard
  vars:
    _spec:
      title: Loyalty System - Application Performance
      uid: loyalty-app-performance
      tags: [loyalty, performance]
      namespace: loyalty-system
      services: [user-service, point-service, rewards-service, admin-service]
      panels:
        - title: Request rate
          expr: >-
            sum by (service, color) (rate(http_server_requests_seconds_count{namespace="$namespace",
            service=~"$service", color=~"$color"}[5m]))
          legend: "{% raw %}{{service}} {{color}}{% endraw %}"
          unit: reqps
          min: 0
      alerts:
        - alert: HighErrorRate
          expr: >-
            sum by (service) (rate(http_server_requests_seconds_count{status=~"5.."}[5m]))
            / sum by (service) (rate(http_server_requests_seconds_count[5m])) > 0.05
          severity: warning
          summary: More than 5% of the requests fail
  ansible.builtin.copy:
    content: "{{ _spec | loyalty.platform.grafana_dashboard | to_nice_json }}"
    dest: /var/lib/grafana/dashboards/loyalty-app-performance.json
    mode: "0644"
"""

RETURN = r"""
_value:
  description:
    - The dashboard's JSON model as plain data (mappings, lists, strings and numbers), ready for C(to_json) or a
      Grafana dashboard provider.
  type: dict
"""

import difflib
import json
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.loyalty.platform.plugins.module_utils.conventions import COLORS

try:
    from grafana_foundation_sdk.builders import common as common_builders
    from grafana_foundation_sdk.builders import dashboard as dashboard_builders
    from grafana_foundation_sdk.builders import prometheus as prometheus_builders
    from grafana_foundation_sdk.builders import timeseries as timeseries_builders
    from grafana_foundation_sdk.cog.encoder import JSONEncoder
    from grafana_foundation_sdk.models import common as common_models
    from grafana_foundation_sdk.models import dashboard as dashboard_models
    from grafana_foundation_sdk.models import prometheus as prometheus_models
    from grafana_foundation_sdk.models import units as unit_models
    HAS_GRAFANA_FOUNDATION_SDK = True
    GRAFANA_FOUNDATION_SDK_IMPORT_ERROR = None
except ImportError as import_error:  # reported when the filter is used, not when Ansible loads it
    HAS_GRAFANA_FOUNDATION_SDK = False
    GRAFANA_FOUNDATION_SDK_IMPORT_ERROR = import_error

PREFIX = "loyalty.platform.grafana_dashboard: "
SPEC_KEYS = ("title", "uid", "tags", "namespace", "services", "colors", "panels", "alerts")
PANEL_KEYS = ("title", "expr", "legend", "unit", "min", "max", "description")
# The keys of a Prometheus alerting rule too, so that the rules the alerts are made from can be passed unchanged.
ALERT_KEYS = ("alert", "expr", "severity", "summary", "for", "keep_firing_for", "labels", "annotations")
# Grafana refuses longer uids and other characters.
UID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
# A Kubernetes Service name (RFC 1035 label), so that the names need no escaping in the variable's regex.
SERVICE_PATTERN = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
# Grafana's grid is 24 columns wide: two panels to a line.
PANEL_WIDTH = 12
PANEL_HEIGHT = 8
DATASOURCE_VARIABLE = "datasource"


class _SpecError(Exception):
    """A spec problem, turned into AnsibleFilterError by the filter."""


def _type_name(value):
    return "nothing" if value is None else type(value).__name__


def _string(container, key, where, required, fix):
    """container[key] as a non-empty str (None when optional and absent or empty); `fix` says what to put there."""
    value = container.get(key)
    # A template's default('') for an optional field means unset.
    if value is None or (not required and isinstance(value, str) and not value.strip()):
        if required:
            raise _SpecError("%s is missing: %s" % (where, fix))
        return None
    if not isinstance(value, str) or not value.strip():
        raise _SpecError("%s must be a non-empty string, got %s %r: %s" % (where, _type_name(value), value, fix))
    return str(value)


def _number(container, key, where):
    value = container.get(key)
    if value is None:
        return None
    # bool is an int to Python, but min: true is a mistake.
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _SpecError("%s must be a number, got %s %r: write it unquoted, for example %s: 0" % (where, _type_name(value), value, key))
    return value


def _string_list(container, key, where, fix, drop_empty=False):
    value = container.get(key)
    if value is None:
        return []
    if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
        raise _SpecError("%s must be a list of strings, got %s: %s" % (where, _type_name(value), fix))
    if drop_empty:
        value = [item for item in value if not (isinstance(item, str) and not item.strip())]
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item:
            raise _SpecError("%s[%d] must be a non-empty string, got %s %r: %s" % (where, index, _type_name(item), item, fix))
    return [str(item) for item in value]


def _mappings(container, key, where, required, fix):
    value = container.get(key)
    if value is None:
        if required:
            raise _SpecError("%s is missing: %s" % (where, fix))
        return []
    if isinstance(value, (str, Mapping)) or not isinstance(value, (list, tuple)):
        raise _SpecError("%s must be a list of mappings, got %s: %s" % (where, _type_name(value), fix))
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise _SpecError("%s[%d] must be a mapping, got %s %r: %s" % (where, index, _type_name(item), item, fix))
    return list(value)


def _no_unknown_keys(container, known, where):
    unknown = sorted(str(key) for key in container if key not in known)
    if unknown:
        raise _SpecError("%s has unknown key(s) %s: use only %s" % (where, ", ".join(unknown), ", ".join(known)))


def _known_units():
    return frozenset(value for name, value in vars(unit_models).items() if not name.startswith("_") and isinstance(value, str))


def _unit(panel, where):
    unit = panel.get("unit")
    if unit is None:
        return None
    if not isinstance(unit, str):
        raise _SpecError("%s must be a string, a Grafana unit id such as reqps, percentunit or s, got %s %r" % (where, _type_name(unit), unit))
    known = _known_units()
    if unit not in known:
        close = difflib.get_close_matches(unit, sorted(known), n=3)
        hint = " (did you mean %s?)" % " or ".join(close) if close else ""
        raise _SpecError(
            "%s is %r, a unit Grafana does not know%s: use a unit id of grafana_foundation_sdk.models.units, "
            "for example reqps, percentunit, s, ms, bytes or short" % (where, unit, hint)
        )
    return str(unit)


def _check_spec(spec):
    """The validated spec, as plain values with the defaults filled in."""
    if not isinstance(spec, Mapping):
        raise _SpecError("the input must be a mapping with title, uid, namespace and panels, got %s" % _type_name(spec))
    _no_unknown_keys(spec, SPEC_KEYS, "the spec")
    checked = {
        "title": _string(spec, "title", "title", True, "set title to the dashboard's name, for example 'Loyalty System - Application Performance'"),
        "uid": _string(
            spec, "uid", "uid", True, "set uid to a stable identifier such as 'loyalty-app-performance', so that each run updates the same dashboard"
        ),
        "namespace": _string(spec, "namespace", "namespace", True, "set namespace to the Kubernetes namespace of the services, for example 'loyalty-system'"),
        "tags": _string_list(spec, "tags", "tags", "give the tags as a list, for example [loyalty, performance]", drop_empty=True),
        "services": _string_list(spec, "services", "services", "give the Kubernetes names of the services, for example [user-service, point-service]"),
        "colors": _string_list(spec, "colors", "colors", "give the colors as a list, for example [blue, green], or leave colors out") or list(COLORS),
    }
    if not UID_PATTERN.match(checked["uid"]):
        raise _SpecError("uid is %r: use letters, digits, '-' and '_' only, at most 40 characters" % checked["uid"])
    for index, service in enumerate(checked["services"]):
        if not SERVICE_PATTERN.match(service):
            raise _SpecError("services[%d] is %r: give the Kubernetes name of the service (lowercase letters, digits and '-')" % (index, service))

    panels = _mappings(spec, "panels", "panels", True, "give at least one panel with title and expr")
    if not panels:
        raise _SpecError("panels is empty: give at least one panel with title and expr")
    checked["panels"] = [_check_panel(panel, "panels[%d]" % index) for index, panel in enumerate(panels)]
    alerts = _mappings(spec, "alerts", "alerts", False, "give one mapping per alert with alert and expr, or leave alerts out")
    checked["alerts"] = [_check_alert(alert, "alerts[%d]" % index) for index, alert in enumerate(alerts)]
    return checked


def _check_panel(panel, where):
    _no_unknown_keys(panel, PANEL_KEYS, where)
    title = _string(panel, "title", where + ".title", True, "give each panel a title")
    checked = {
        "title": title,
        "expr": _string(panel, "expr", where + ".expr", True, "give the panel %r the PromQL query it draws as expr" % title),
        "legend": _string(panel, "legend", where + ".legend", False, "give the legend format, for example '{{service}} {{color}}', or leave it out"),
        "description": _string(panel, "description", where + ".description", False, "give a text, or leave description out"),
        "unit": _unit(panel, where + ".unit"),
        "min": _number(panel, "min", where + ".min"),
        "max": _number(panel, "max", where + ".max"),
    }
    if checked["min"] is not None and checked["max"] is not None and checked["min"] > checked["max"]:
        raise _SpecError("%s.min (%r) is above %s.max (%r): swap them" % (where, checked["min"], where, checked["max"]))
    return checked


def _check_alert(alert, where):
    _no_unknown_keys(alert, ALERT_KEYS, where)
    name = _string(alert, "alert", where + ".alert", True, "give the alert's name as alert, as in the Prometheus rule")
    labels = alert.get("labels") or {}
    annotations = alert.get("annotations") or {}
    for key, value in (("labels", labels), ("annotations", annotations)):
        if not isinstance(value, Mapping):
            raise _SpecError("%s.%s must be a mapping, got %s: give it as in the Prometheus rule, or leave it out" % (where, key, _type_name(value)))
    fix = "give a text, or leave it out"
    severity = _string(alert, "severity", where + ".severity", False, fix)
    summary = _string(alert, "summary", where + ".summary", False, fix)
    return {
        "alert": name,
        "expr": _string(alert, "expr", where + ".expr", True, "give the alert %r its PromQL expression as expr, as in the Prometheus rule" % name),
        "severity": severity or _string(labels, "severity", where + ".labels.severity", False, fix),
        "summary": summary or _string(annotations, "summary", where + ".annotations.summary", False, fix),
    }


def _datasource():
    return dashboard_models.DataSourceRef(type_val="prometheus", uid="${%s}" % DATASOURCE_VARIABLE)


def _all():
    return dashboard_models.VariableOption(text="All", value="$__all")


def _variables(spec):
    service = (
        dashboard_builders.QueryVariable("service")
        .label("Service")
        .datasource(_datasource())
        .query('label_values(up{namespace="$namespace"}, service)')
        .refresh(dashboard_models.VariableRefresh.ON_DASHBOARD_LOAD)
        .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
        .multi(True)
        .include_all(True)
        .current(_all())
    )
    if spec["services"]:
        service = service.regex("/^(%s)$/" % "|".join(spec["services"]))
    return [
        dashboard_builders.DatasourceVariable(DATASOURCE_VARIABLE).label("Data source").type("prometheus"),
        dashboard_builders.ConstantVariable("namespace").label("Namespace").value(spec["namespace"]),
        service,
        dashboard_builders.CustomVariable("color")
        .label("Color")
        .values(",".join(spec["colors"]))
        .multi(True)
        .include_all(True)
        .current(_all()),
    ]


def _timeseries(panel_id, title, expr, legend=None, unit=None, min_val=None, max_val=None, description=None):
    query = (
        prometheus_builders.Dataquery()
        .ref_id("A")
        .datasource(_datasource())
        .expr(expr)
        .range()
        .editor_mode(prometheus_models.QueryEditorMode.CODE)
    )
    if legend is not None:
        query = query.legend_format(legend)
    panel = (
        timeseries_builders.Panel()
        .id(panel_id)
        .title(title)
        .datasource(_datasource())
        .with_target(query)
        .span(PANEL_WIDTH)
        .height(PANEL_HEIGHT)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common_models.LegendDisplayMode.LIST)
            .placement(common_models.LegendPlacement.BOTTOM)
            .show_legend(True)
        )
        .tooltip(common_builders.VizTooltipOptions().mode(common_models.TooltipDisplayMode.MULTI).sort(common_models.SortOrder.DESCENDING))
    )
    if description is not None:
        panel = panel.description(description)
    if unit is not None:
        panel = panel.unit(unit)
    if min_val is not None:
        panel = panel.min(min_val)
    if max_val is not None:
        panel = panel.max(max_val)
    return panel


def _build(spec):
    builder = (
        dashboard_builders.Dashboard(spec["title"])
        .uid(spec["uid"])
        .tags(spec["tags"])
        .time("now-1h", "now")
        .refresh("30s")
        .timezone("utc")
        .readonly()
        .tooltip(dashboard_models.DashboardCursorSync.CROSSHAIR)
        .variables(_variables(spec))
    )
    # Fixed ids, in order, so that the output does not depend on Grafana numbering them.
    panel_id = 0
    for panel in spec["panels"]:
        panel_id += 1
        builder = builder.with_panel(
            _timeseries(
                panel_id, panel["title"], panel["expr"], panel["legend"], panel["unit"], panel["min"], panel["max"], panel["description"]
            )
        )
    if spec["alerts"]:
        panel_id += 1
        # An expanded row: its panels follow it in the dashboard's list (a collapsed row would hold them itself).
        builder = builder.with_row(dashboard_builders.Row("Alerts").id(panel_id).collapsed(False))
        for alert in spec["alerts"]:
            panel_id += 1
            title = "%s (%s)" % (alert["alert"], alert["severity"]) if alert["severity"] else alert["alert"]
            builder = builder.with_panel(_timeseries(panel_id, title, alert["expr"], description=alert["summary"]))
    # The SDK's encoder, then plain data: mappings and lists Ansible can template and write.
    return json.loads(json.dumps(builder.build(), cls=JSONEncoder))


def grafana_dashboard(spec):
    """The dashboard's JSON model as plain data."""
    if not HAS_GRAFANA_FOUNDATION_SDK:
        raise AnsibleFilterError(
            PREFIX + "needs the Python package grafana-foundation-sdk on the controller: pip install grafana-foundation-sdk "
            "(requirements.txt pins the version the collection is tested with); the import failed with: %s" % GRAFANA_FOUNDATION_SDK_IMPORT_ERROR
        )
    try:
        return _build(_check_spec(spec))
    except _SpecError as exc:
        raise AnsibleFilterError(PREFIX + str(exc)) from exc


class FilterModule:  # pylint: disable=too-few-public-methods
    def filters(self):
        return {"grafana_dashboard": grafana_dashboard}
