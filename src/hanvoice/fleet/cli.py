"""``hanvoice fleet …``: status (drift check), rollout-plan and pin.

Exit status of ``fleet status``: 0 when every region answers, is ready and runs the same
build and model; 1 when a region is down, not ready or drifted (the table says which);
2 for a mistake in the command or the inventory.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from hanvoice.errors import InvalidParameter

DEFAULT_INVENTORY = "deploy/regions.yaml"
TOKEN_ENV = "HANVOICE_FLEET_TOKEN"


def add_commands(sub: argparse._SubParsersAction[Any]) -> None:
    fleet = sub.add_parser("fleet", help="check and roll out the regions of deploy/regions.yaml")
    fsub = fleet.add_subparsers(dest="fleet_command", required=True)

    p = fsub.add_parser(
        "status",
        help="ask every region's /version and /ready; exit 1 on drift or a region not ready",
    )
    p.add_argument("--inventory", default=DEFAULT_INVENTORY, help="regions file (YAML)")
    p.add_argument("--region", action="append", default=None, help="only this region (repeatable)")
    p.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="required /version value, e.g. build=0.2.0 (repeatable); else the majority rules",
    )
    p.add_argument(
        "--compare",
        default=None,
        help="comma list of /version fields that must agree "
        "(default: version,build,commit,engine,model_id,model_sha256)",
    )
    p.add_argument("--timeout", type=float, default=5.0, help="seconds per request (5)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=cmd_status)

    p = fsub.add_parser("rollout-plan", help="print the canary-first rollout order and gates")
    p.add_argument("--inventory", default=DEFAULT_INVENTORY, help="regions file (YAML)")
    p.add_argument("--digest", required=True, help="image digest to roll out (sha256:…)")
    p.add_argument("--build", required=True, help="its tag, as /version reports it (build)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=cmd_plan)

    p = fsub.add_parser("pin", help="set the image digest of one overlay (a rollout step)")
    p.add_argument("overlay", help="overlay folder, e.g. deploy/k8s/overlays/cn-beijing")
    p.add_argument("digest", help="sha256:…")
    p.set_defaults(func=cmd_pin)


def _parse_expect(items: list[str]) -> dict[str, str]:
    from hanvoice.fleet.status import VERSION_FIELDS

    out = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not value:
            raise InvalidParameter(f"--expect {item!r}: expected FIELD=VALUE, e.g. build=0.2.0")
        if name not in VERSION_FIELDS or name == "region":
            raise InvalidParameter(
                f"--expect {name!r}: not a comparable /version field "
                f"({', '.join(f for f in VERSION_FIELDS if f != 'region')})"
            )
        out[name] = value
    return out


def _parse_compare(text: str | None) -> tuple[str, ...]:
    from hanvoice.fleet.status import DEFAULT_COMPARE, VERSION_FIELDS

    if text is None:
        return DEFAULT_COMPARE
    fields = tuple(f.strip() for f in text.split(",") if f.strip())
    bad = [f for f in fields if f not in VERSION_FIELDS or f == "region"]
    if bad or not fields:
        raise InvalidParameter(
            f"--compare {text!r}: choose from "
            f"{', '.join(f for f in VERSION_FIELDS if f != 'region')}"
        )
    return fields


def cmd_status(args: argparse.Namespace) -> int:
    from hanvoice.fleet.inventory import load_inventory
    from hanvoice.fleet.status import as_json, fleet_status, format_table

    if not args.timeout > 0:
        raise InvalidParameter("--timeout must be > 0 seconds")
    expect = _parse_expect(args.expect)
    compare = _parse_compare(args.compare)
    inv = load_inventory(Path(args.inventory))
    report = fleet_status(
        inv.select(args.region),
        compare=compare,
        expect=expect,
        timeout=args.timeout,
        token=os.environ.get(TOKEN_ENV) or None,
    )
    if args.json:
        print(json.dumps(as_json(report), ensure_ascii=False, indent=2))
    else:
        print(format_table(report))
    return 0 if report.ok else 1


def cmd_plan(args: argparse.Namespace) -> int:
    from hanvoice.fleet.inventory import load_inventory
    from hanvoice.fleet.plan import format_plan, plan_json, rollout_plan

    inv = load_inventory(Path(args.inventory))
    plan = rollout_plan(inv, digest=args.digest, build=args.build)
    if args.json:
        print(json.dumps(plan_json(plan), ensure_ascii=False, indent=2))
    else:
        print(format_plan(plan))
    return 0


def cmd_pin(args: argparse.Namespace) -> int:
    from hanvoice.fleet.pin import pin_overlay

    old = pin_overlay(Path(args.overlay), args.digest)
    print(f"{args.overlay}: {old} -> {args.digest}")
    return 0
