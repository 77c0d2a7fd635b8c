"""The check-mode plan: create, change or no change per resource, from registered results."""

from ansible_collections.loyalty.platform.plugins.module_utils.aws_infra.plan import plan


def test_create_change_and_no_change_are_told_apart():
    lines, counts = plan([
        {"what": "VPC a", "result": {"changed": True}},
        {"what": "VPC b", "result": {"changed": True, "vpc": {"id": "vpc-1"}, "diff": {"before": {"tags": {}}, "after": {"tags": {"A": "1"}}}}},
        {"what": "VPC c", "result": {"changed": False, "vpc": {"id": "vpc-2"}}},
        {"what": "subnet", "result": {"skipped": True, "false_condition": "_vpc.vpc.id is defined"}},
    ])
    assert lines == [
        "+ create    VPC a",
        "~ change    VPC b (tags)",
        "  no change VPC c",
        "+ create    subnet",
        "Plan: 2 to create, 1 to change, 1 unchanged.",
    ]
    assert counts == {"create": 2, "change": 1, "no change": 1}


def test_a_loop_is_one_resource_per_item_and_module_reported_changes_are_listed():
    lines, counts = plan([{"what": "subnet", "result": {"results": [
        {"changed": False, "subnet": {"id": "subnet-1"}, "_ansible_item_label": "10.0.1.0/24 us-west-2a"},
        {"changed": True, "_ansible_item_label": "10.0.2.0/24 us-west-2b"},
    ]}}, {"what": "Redis", "result": {"changed": True, "replication_group": {"replication_group_id": "r"}, "changes": ["node_type"]}}])
    assert lines[:3] == ["  no change subnet 10.0.1.0/24 us-west-2a", "+ create    subnet 10.0.2.0/24 us-west-2b", "~ change    Redis (node_type)"]
    assert counts["create"] == 1 and counts["change"] == 1


def test_a_result_that_never_ran_is_planned_as_created_with_its_parent():
    lines, counts = plan([{"what": "NAT gateway", "result": None}, {"what": "route", "result": {"results": []}}])
    assert counts == {"create": 2, "change": 0, "no change": 0}
    assert lines[0].startswith("+ create")


def test_a_task_skipped_because_its_resource_is_in_sync_is_no_change():
    skipped = {"skipped": True, "false_condition": "not _aws_infra_in_sync.vpc"}
    lines, counts = plan([
        {"what": "VPC", "result": skipped, "in_sync": True},
        {"what": "subnet", "result": {"results": [dict(skipped, item=["10.0.1.0/24", "a"]), dict(skipped, item=["10.0.2.0/24", "b"])]},
         "in_sync": [True, False]},
        {"what": "IGW", "result": skipped, "in_sync": False},
    ])
    assert lines == ["  no change VPC", "  no change subnet 10.0.1.0/24 a", "+ create    subnet 10.0.2.0/24 b", "+ create    IGW",
                     "Plan: 2 to create, 0 to change, 2 unchanged."]
    assert counts == {"create": 2, "change": 0, "no change": 2}
