"""The inventory loader: the repository's own file, and every way a file can be wrong."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hanvoice.fleet.inventory import InventoryError, load_inventory, parse_inventory

ROOT = Path(__file__).resolve().parents[3]
REQUIRED_REGIONS = {"cn-beijing", "cn-shanghai", "ap-singapore", "eu-frankfurt", "us-virginia"}


def test_repository_inventory_lists_every_required_region() -> None:
    inv = load_inventory(ROOT / "deploy" / "regions.yaml")
    assert set(inv.names) >= REQUIRED_REGIONS
    assert inv.canary.name == "ap-singapore"
    rolled = [inv.rollout.canary, *(n for w in inv.rollout.waves for n in w)]
    assert sorted(rolled) == sorted(inv.names), "every region rolls exactly once"
    for r in inv.regions:
        assert len(set(r.zones)) >= 2, r.name
        assert r.endpoint.startswith("https://"), r.name
        assert r.redis and r.etcd and r.kube_context, r.name


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "version": 1,
        "image": "registry.example.com/hanvoice/hanvoice",
        "regions": [
            {"name": "cn-beijing", "endpoint": "https://bj.example.com", "weight": 30,
             "zones": ["a", "b"]},
            {"name": "ap-singapore", "endpoint": "https://sg.example.com", "weight": 10,
             "zones": ["a", "b"]},
            {"name": "us-virginia", "endpoint": "https://va.example.com", "weight": 20,
             "zones": ["a", "b"]},
        ],
    }  # fmt: skip
    for path, value in changes.items():
        target: Any = doc
        keys = path.split("__")
        for k in keys[:-1]:
            target = target[int(k)] if k.isdigit() else target[k]
        target[keys[-1]] = value
    return doc


SG, BJ, VA = "ap-singapore", "cn-beijing", "us-virginia"
BAD = [
    # (changes, words the message must contain)
    ({"version": 2}, ["version", "2"]),
    ({"image": ""}, ["image"]),
    ({"regions": []}, ["regions", "non-empty"]),
    ({"colour": "blue"}, ["unknown key colour"]),
    ({"regions__0__name": "CN_Beijing"}, ["regions[0].name", "lower-case"]),
    ({"regions__1__name": "cn-beijing"}, ["cn-beijing", "more than once"]),
    ({"regions__0__endpoint": "ftp://x"}, ["cn-beijing", "endpoint"]),
    ({"regions__0__weight": -1}, ["cn-beijing", "weight"]),
    ({"regions__0__weight": "heavy"}, ["weight"]),
    ({"regions__0__zones": ["a"]}, ["cn-beijing", "two distinct zones"]),
    ({"regions__0__zones": ["a", "a"]}, ["two distinct zones"]),
    ({"regions__0__replicas": {"min": 3, "max": 2}}, ["replicas", "min <= max"]),
    ({"regions__0__replicas": {"min": 0, "max": 2}}, ["replicas"]),
    ({"regions__0__zone": ["a", "b"]}, ["unknown key zone"]),
    ({"rollout": {"canary": "mars"}}, ["rollout.canary", "mars"]),
    ({"rollout": {"canary": SG, "waves": [[BJ]]}}, ["us-virginia", "no wave"]),
    ({"rollout": {"canary": SG, "waves": [[BJ, SG], [VA]]}}, ["ap-singapore", "canary"]),
    ({"rollout": {"canary": SG, "waves": [[BJ], [BJ, VA]]}}, ["cn-beijing", "more than one wave"]),
    ({"rollout": {"canary": SG, "waves": [[BJ], [VA], ["pluto"]]}}, ["pluto", "not a region"]),
    ({"rollout": {"canary": SG, "waves": [[]]}}, ["rollout.waves"]),
    ({"rollout": {"canary": "ap-singapore", "max_error_ratio": 2}}, ["max_error_ratio"]),
    ({"rollout": {"canary": "ap-singapore", "bake_minutes": -5}}, ["bake_minutes"]),
    ({"regions__0__registry": "https://reg.example.com/h"}, ["cn-beijing", "registry"]),
    ({"regions__0__registry": "reg.example.com/h:1.0"}, ["registry", "no tag"]),
    ({"regions__0__registry": "reg.example.com"}, ["registry", "host[:port]/path"]),
    ({"regions__0__lookaside": "s3://bucket/sigs"}, ["cn-beijing", "lookaside"]),
    ({"release": {"lookaside": "ftp://sigs"}}, ["release.lookaside"]),
    ({"release": {"staging": "file://"}}, ["release.staging"]),
    ({"release": {"key": "k.asc"}}, ["release", "unknown key key"]),
    ({"release": ["k.asc"]}, ["release", "mapping"]),
]  # fmt: skip


@pytest.mark.parametrize(("changes", "words"), BAD, ids=[str(c) for c, _ in BAD])
def test_bad_inventory_names_the_problem(changes: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(InventoryError) as err:
        parse_inventory(_doc(**changes))
    for word in words:
        assert word in err.value.message
    assert err.value.client_error


def test_without_rollout_the_lightest_region_is_the_canary_and_the_busiest_goes_last() -> None:
    inv = parse_inventory(_doc())
    assert inv.rollout.canary == "ap-singapore"
    assert inv.rollout.waves == (("us-virginia",), ("cn-beijing",))


def test_waves_default_to_ascending_weight_after_a_chosen_canary() -> None:
    inv = parse_inventory(_doc(rollout={"canary": "cn-beijing"}))
    assert inv.rollout.waves == (("ap-singapore",), ("us-virginia",))


def test_select_keeps_inventory_order_and_rejects_unknown_names() -> None:
    inv = parse_inventory(_doc())
    assert [r.name for r in inv.select(["us-virginia", "cn-beijing"])] == [
        "cn-beijing",
        "us-virginia",
    ]
    with pytest.raises(InventoryError, match="no region 'mars'"):
        inv.select(["mars"])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, ["cannot read"]),
        ("regions: [unclosed", ["not valid YAML"]),
        ("- just\n- a list\n", ["expected a mapping"]),
    ],
)
def test_unreadable_inventory_file(tmp_path: Path, content: str | None, words: list[str]) -> None:
    path = tmp_path / "regions.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InventoryError) as err:
        load_inventory(path)
    assert str(path) in err.value.message
    for word in words:
        assert word in err.value.message


def test_round_trip_of_repository_inventory_is_stable() -> None:
    raw = yaml.safe_load((ROOT / "deploy" / "regions.yaml").read_text(encoding="utf-8"))
    assert parse_inventory(raw).names == load_inventory(ROOT / "deploy" / "regions.yaml").names
