# -*- coding: utf-8 -*-
# Copyright: (c) 2026, Loyalty platform team
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""A plan a reviewer can read, from the results of a check-mode run: per resource, create, change or no change.

A resource is "create" when its task would change it and its result names no existing resource (no id), or when
the task was skipped because its parent does not exist yet; "change" when the task would change a resource that
exists; otherwise "no change", as is a resource whose task was skipped because the read before the tasks found it
as wanted. A loop's items are one resource each.
"""

from __future__ import annotations

# Where each module's result names the resource it found (any one of them, non-empty, means it exists).
ID_PATHS = (
    ("vpc", "id"), ("subnet", "id"), ("gateway_id",), ("nat_gateway_id",), ("route_table", "id"), ("route_table", "route_table_id"),
    ("iam_role", "arn"), ("flow_log", "flow_log_id"), ("arn",), ("log_group_name",), ("log_groups",), ("group_id",),
    ("db_instance_identifier",), ("subnet_group", "name"), ("cache_subnet_group", "name"), ("replication_group", "replication_group_id"),
    ("endpoint",), ("nodegroup_name",), ("cluster_name",), ("secret", "arn"), ("enabled_types",), ("policies",),
)


def _found(result, path):
    value = result
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def exists(result):
    return any(_found(result, path) for path in ID_PATHS)


def action(result, in_sync=False):
    if result.get("skipped") and in_sync:
        return "no change"
    if result.get("skipped"):
        return "create" if result.get("false_condition") or result.get("skip_reason") else "no change"
    if result.get("changed"):
        return "change" if exists(result) else "create"
    return "no change"


def _changed_fields(result):
    diff = result.get("diff")
    diffs = diff if isinstance(diff, list) else [diff] if isinstance(diff, dict) else []
    fields = []
    for entry in diffs:
        before, after = entry.get("before"), entry.get("after")
        if isinstance(before, dict) and isinstance(after, dict):
            fields += sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
    for key in ("changes", "changed_fields"):
        if isinstance(result.get(key), list):
            fields += [str(item) for item in result[key]]
    return sorted(set(fields))


def label_of(item):
    """A loop item's label: Ansible's own, else the item (a subnet's [cidr, zone], a result's own item)."""
    if isinstance(item, dict):
        if item.get("_ansible_item_label") is not None:
            return label_of(item["_ansible_item_label"])
        return label_of(item.get("item", ""))
    if isinstance(item, (list, tuple)):
        return " ".join(str(part) for part in item)
    return str(item)


MARKS = {"create": "+", "change": "~", "no change": " "}


def plan(entries):
    """(lines, counts) for [{"what": ..., "result": ..., "in_sync": ...}, ...]; a loop result gives one line per item.

    ``in_sync`` (a bool, or for a loop one per item) says the read before the tasks found the resource as wanted, so
    its skipped task is "no change"."""
    lines = []
    counts = {"create": 0, "change": 0, "no change": 0}
    for entry in entries:
        result = entry.get("result") or {"skipped": True, "skip_reason": "not reached"}
        items = result.get("results") if isinstance(result.get("results"), list) else None
        if items is not None and not items:
            items = None
            result = {"skipped": True, "skip_reason": "no items yet"}
        flags = entry.get("in_sync")
        flags = list(flags) if isinstance(flags, (list, tuple)) else [bool(flags)] * len(items if items is not None else [result])
        for index, item in enumerate(items if items is not None else [result]):
            kind = action(item, index < len(flags) and flags[index] is True)
            counts[kind] += 1
            label = entry["what"]
            if items is not None:
                label += " " + label_of(item)
            fields = _changed_fields(item) if kind == "change" else []
            lines.append("%s %-9s %s%s" % (MARKS[kind], kind, label, (" (" + ", ".join(fields) + ")") if fields else ""))
    lines.append("Plan: %(create)d to create, %(change)d to change, %(no change)d unchanged." % counts)
    return lines, counts
