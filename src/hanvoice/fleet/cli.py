"""``hanvoice fleet …``: status (drift check), rollout-plan, pin, rollout, verify and the
signature trust configuration of nodes and the release host.

Exit status of ``fleet status``: 0 when every region answers, is ready and runs the same
build, image digest and model (and, with ``--signatures``, a signed one); 1 when a region is
down, not ready, drifted or unsigned (the table says which); 2 for a mistake in the command
or the inventory. ``fleet rollout`` and ``fleet verify`` exit 1 when a region fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hanvoice.errors import InvalidParameter

if TYPE_CHECKING:
    from hanvoice.fleet.inventory import Inventory
    from hanvoice.fleet.signing import Verifier

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
    p.add_argument(
        "--signatures",
        action="store_true",
        help="also check that each region's image digest is signed (release.public_key)",
    )
    p.add_argument("--key", default=None, help="release public key (default: the inventory's)")
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

    p = fsub.add_parser(
        "rollout", help="move the regions to a digest wave by wave, each gated on /ready"
    )
    p.add_argument("--inventory", default=DEFAULT_INVENTORY, help="regions file (YAML)")
    p.add_argument("--digest", required=True, help="image digest to roll out (sha256:…)")
    p.add_argument("--deploy", default=None, help="command per region (default: kubectl)")
    p.add_argument("--waves", default="all", help="all, all-at-once, N, N- or N-M")
    p.add_argument("--gate-timeout", type=float, default=900.0, help="seconds per region")
    p.add_argument("--bake", type=float, default=None, help="seconds (rollout.bake_minutes)")
    p.set_defaults(func=cmd_rollout)

    p = fsub.add_parser(
        "verify", help="each region's registry serves the digest, signed under its policy"
    )
    p.add_argument("--inventory", default=DEFAULT_INVENTORY, help="regions file (YAML)")
    p.add_argument("--digest", required=True, help="sha256:…")
    p.add_argument("--key", default=None, help="release public key (default: the inventory's)")
    p.set_defaults(func=cmd_verify)

    p = fsub.add_parser(
        "replicate", help="copy a signed digest from the central registry to every region's"
    )
    p.add_argument("--inventory", default=DEFAULT_INVENTORY, help="regions file (YAML)")
    p.add_argument("--digest", required=True, help="sha256:…")
    p.add_argument("--tag", required=True, help="the release's tag in each region's registry")
    p.add_argument("--config", required=True, help="folder written by release-config")
    p.add_argument(
        "--plain-http", action="store_true", help="registries without TLS (loopback drills)"
    )
    p.set_defaults(func=cmd_replicate)

    for name, what in (("node-config", "a region's nodes"), ("release-config", "release.sh")):
        p = fsub.add_parser(name, help=f"write the trust policy and registries.d for {what}")
        p.add_argument("--inventory", default=DEFAULT_INVENTORY, help="regions file (YAML)")
        if name == "node-config":
            p.add_argument("region", help="region name")
        p.add_argument("-o", "--out", required=True, help="folder (laid out as /etc/containers)")
        p.add_argument("--key-path", default="", help="the public key's path where it is used")
        p.set_defaults(func=cmd_config)


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
    with contextlib.ExitStack() as stack:
        verifier = stack.enter_context(_verifier(inv, args.key)) if args.signatures else None
        report = fleet_status(
            inv.select(args.region),
            compare=compare,
            expect=expect,
            timeout=args.timeout,
            token=os.environ.get(TOKEN_ENV) or None,
            verifier=verifier,
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


def _verifier(inv: Inventory, key: str | None) -> Verifier:
    from hanvoice.fleet.signing import Verifier

    path = key or inv.release.public_key
    if not path:
        raise InvalidParameter("no release key: set release.public_key or pass --key")
    return Verifier(inv, Path(path))


def cmd_rollout(args: argparse.Namespace) -> int:
    from hanvoice.fleet.inventory import load_inventory
    from hanvoice.fleet.rollout import (
        DEFAULT_DEPLOY,
        command_deployer,
        format_result,
        run_rollout,
    )

    inv = load_inventory(Path(args.inventory))
    bake = inv.rollout.bake_minutes * 60.0 if args.bake is None else args.bake
    if bake < 0 or not args.gate_timeout > 0:
        raise InvalidParameter("--bake must be >= 0 and --gate-timeout > 0 seconds")
    result = run_rollout(
        inv,
        args.digest,
        command_deployer(args.deploy or DEFAULT_DEPLOY, inv),
        waves=args.waves,
        gate_timeout=args.gate_timeout,
        bake=bake,
    )
    print(format_result(result))
    return 0 if result.ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    from hanvoice.fleet.inventory import load_inventory
    from hanvoice.fleet.plan import DIGEST
    from hanvoice.fleet.signing import manifest_digest

    if not DIGEST.match(args.digest):
        raise InvalidParameter(f"--digest must look like sha256:<64 hex>, not {args.digest!r}")
    inv = load_inventory(Path(args.inventory))
    rows = []
    with _verifier(inv, args.key) as verifier:
        for region in inv.regions:
            served = manifest_digest(region, args.digest)
            check = verifier.check(region, args.digest)
            rows.append({"region": region.name, "digest_equal": served == args.digest,
                         "served": served, "signed": check.ok, "reason": check.reason})  # fmt: skip
    print(json.dumps({"digest": args.digest, "regions": rows}, indent=2))
    return 0 if all(r["digest_equal"] and r["signed"] for r in rows) else 1


def cmd_replicate(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from hanvoice.fleet.inventory import load_inventory
    from hanvoice.fleet.replicate import replicate

    inv = load_inventory(Path(args.inventory))
    copies = replicate(
        inv, args.digest, args.tag, Path(args.config), tls_verify=not args.plain_http
    )
    print(json.dumps({"digest": args.digest, "regions": [asdict(c) for c in copies]}))
    return 0 if all(c.ok for c in copies) else 1


def cmd_config(args: argparse.Namespace) -> int:
    from hanvoice.fleet.inventory import load_inventory
    from hanvoice.fleet.signing import node_config, release_config, write_files

    inv = load_inventory(Path(args.inventory))
    key = args.key_path or inv.release.public_key
    if args.fleet_command == "node-config":
        files = node_config(inv, inv.region(args.region), args.key_path)
    else:
        if not key:
            raise InvalidParameter("no release key: set release.public_key or pass --key-path")
        files = release_config(inv, str(Path(key).resolve()))
    for path in write_files(files, Path(args.out)):
        print(path)
    return 0


def cmd_pin(args: argparse.Namespace) -> int:
    from hanvoice.fleet.pin import pin_overlay

    old = pin_overlay(Path(args.overlay), args.digest)
    print(f"{args.overlay}: {old} -> {args.digest}")
    return 0
