"""Trust configuration from the inventory, and the signature check, with real gpg and
real simple-signing signatures made by ``skopeo standalone-sign``."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from hanvoice.errors import InvalidParameter
from hanvoice.fleet.inventory import Inventory, parse_inventory
from hanvoice.fleet.signing import Verifier, node_config, release_config, repository_of

CENTRAL = "registry.example.com/hanvoice/hanvoice"
SG = "registry.sg.example.com/hanvoice/hanvoice"


def _inventory(sg_lookaside: str = "https://sigs.sg.example.com", **release: str) -> Inventory:
    return parse_inventory(
        {
            "image": CENTRAL,
            "release": {"public_key": "deploy/release/release-key.asc", **release},
            "regions": [
                {"name": "ap-singapore", "endpoint": "https://sg.example.com", "weight": 1,
                 "zones": ["a", "b"], "registry": SG, "lookaside": sg_lookaside},
            ],
        }
    )  # fmt: skip


def test_node_policy_rejects_all_but_the_region_registry_signed_for_the_central_name() -> None:
    inv = _inventory()
    files = node_config(inv, inv.regions[0])
    policy = json.loads(files["policy.json"])
    assert policy["default"] == [{"type": "reject"}]
    assert list(policy["transports"]) == ["docker"]
    (req,) = policy["transports"]["docker"][SG]
    assert req["type"] == "signedBy" and req["keyType"] == "GPGKeys"
    assert req["keyPath"] == "/etc/containers/keys/hanvoice-release.asc"
    assert req["signedIdentity"] == {"type": "remapIdentity", "prefix": SG, "signedPrefix": CENTRAL}
    registries = yaml.safe_load(files["registries.d/hanvoice.yaml"])
    assert registries == {"docker": {SG: {"lookaside": "https://sigs.sg.example.com"}}}


def test_release_host_accepts_its_build_and_writes_signatures_to_staging() -> None:
    inv = _inventory(staging="file:///var/lib/hanvoice/signatures")
    files = release_config(inv, "/keys/release.asc")
    policy = json.loads(files["policy.json"])
    assert policy["default"] == [{"type": "reject"}]
    assert policy["transports"]["containers-storage"] == {"": [{"type": "insecureAcceptAnything"}]}
    assert policy["transports"]["docker"][CENTRAL][0]["keyPath"] == "/keys/release.asc"
    assert "signedIdentity" not in policy["transports"]["docker"][CENTRAL][0]
    assert policy["transports"]["docker"][SG][0]["signedIdentity"]["signedPrefix"] == CENTRAL
    stores = yaml.safe_load(files["registries.d/hanvoice.yaml"])["docker"]
    assert stores[CENTRAL]["lookaside-staging"] == "file:///var/lib/hanvoice/signatures/central"
    assert stores[SG]["lookaside-staging"] == "file:///var/lib/hanvoice/signatures/ap-singapore"


def test_release_config_needs_a_writable_staging_location() -> None:
    with pytest.raises(InvalidParameter, match=r"release\.staging"):
        release_config(_inventory(), "/keys/release.asc")
    # a file:// lookaside is its own staging
    inv = _inventory("file:///srv/sigs/sg", lookaside="file:///srv/sigs/central")
    files = release_config(inv, "/k")
    assert "file:///srv/sigs/sg" in files["registries.d/hanvoice.yaml"]


def test_a_region_without_registry_gets_no_node_config() -> None:
    inv = parse_inventory(
        {"image": CENTRAL, "regions": [{"name": "eu-frankfurt", "endpoint": "https://x.y",
                                        "weight": 1, "zones": ["a", "b"]}]}
    )  # fmt: skip
    with pytest.raises(InvalidParameter, match="eu-frankfurt has no registry"):
        node_config(inv, inv.regions[0])


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("127.0.0.1:5000/hanvoice/hanvoice:0.2.0", "127.0.0.1:5000/hanvoice/hanvoice"),
        ("127.0.0.1:5000/hanvoice/hanvoice", "127.0.0.1:5000/hanvoice/hanvoice"),
        ("r.example.com/h/h@sha256:" + "0" * 64, "r.example.com/h/h"),
        ("r.example.com/h/h:1@sha256:" + "0" * 64, "r.example.com/h/h"),
    ],
)
def test_repository_of(reference: str, repository: str) -> None:
    assert repository_of(reference) == repository


# ---- the check, against real signatures --------------------------------------------------


def _gpg_key(home: Path, uid: str) -> str:
    home.mkdir(mode=0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", uid, "ed25519",
                    "sign", "never"], env=env, check=True, capture_output=True)  # fmt: skip
    out = subprocess.run(["gpg", "--with-colons", "--list-secret-keys"], env=env, check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    return next(line.split(":")[9] for line in out.splitlines() if line.startswith("fpr:"))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    if shutil.which("gpg") is None or shutil.which("skopeo") is None:
        pytest.fail("gpg and skopeo are needed (scripts/system-deps.sh)")
    tmp = tmp_path_factory.mktemp("keys")
    release = _gpg_key(tmp / "release", "release <release@test.invalid>")
    intruder = _gpg_key(tmp / "intruder", "intruder <intruder@test.invalid>")
    public = tmp / "release.asc"
    env = {**os.environ, "GNUPGHOME": str(tmp / "release")}
    public.write_bytes(subprocess.run(["gpg", "--armor", "--export", release], env=env,
                                      check=True, capture_output=True).stdout)  # fmt: skip
    yield {"tmp": tmp, "release": release, "intruder": intruder, "public": public}
    for home in ("release", "intruder"):  # the agents gpg started to sign
        subprocess.run(["gpgconf", "--kill", "gpg-agent"], capture_output=True, timeout=30,
                       env={**os.environ, "GNUPGHOME": str(tmp / home)})  # fmt: skip


def _sign(keys: dict[str, object], who: str, manifest: bytes, reference: str, out: Path) -> str:
    tmp = keys["tmp"]
    assert isinstance(tmp, Path)
    (tmp / "manifest.json").write_bytes(manifest)
    env = {**os.environ, "GNUPGHOME": str(tmp / who)}
    subprocess.run(["skopeo", "standalone-sign", str(tmp / "manifest.json"), reference,
                    str(keys[who]), "--output", str(out)], env=env, check=True,
                   capture_output=True)  # fmt: skip
    return "sha256:" + hashlib.sha256(manifest).hexdigest()


def _lookaside(root: Path, digest: str) -> Path:
    folder = root / "hanvoice" / f"hanvoice@{digest.replace(':', '=')}"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / "signature-1"


CASES = [
    # (who signs, identity signed, digest in the signature is the image's, ok, reason)
    ("release", f"{CENTRAL}:0.2.0", True, True, "signed by"),
    ("release", f"{SG}:0.2.0", True, True, "signed by"),  # signed for the region itself
    ("release", "registry.example.com/other/image:1", True, False, "another repository"),
    ("release", f"{CENTRAL}:0.2.0", False, False, "not this digest"),
    ("intruder", f"{CENTRAL}:0.2.0", True, False, "unknown key"),
]


@pytest.mark.parametrize(("who", "identity", "same", "ok", "reason"), CASES)
def test_verifier_applies_the_node_policy(
    keys: dict[str, object], tmp_path: Path, who: str, identity: str, same: bool, ok: bool,
    reason: str,
) -> None:  # fmt: skip
    inv = _inventory(tmp_path.as_uri())
    manifest = json.dumps({"schemaVersion": 2, "n": who + identity}).encode()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    signed = manifest if same else manifest + b" "
    _sign(keys, who, signed, identity, _lookaside(tmp_path, digest))
    public = keys["public"]
    assert isinstance(public, Path)
    with Verifier(inv, public) as v:
        check = v.check(inv.regions[0], digest)
    assert check.ok is ok and reason in check.reason, check


def test_verifier_finds_no_signature_and_refuses_garbage(
    keys: dict[str, object], tmp_path: Path
) -> None:
    inv = _inventory(tmp_path.as_uri())
    digest = "sha256:" + "1" * 64
    public = keys["public"]
    assert isinstance(public, Path)
    with Verifier(inv, public) as v:
        assert v.check(inv.regions[0], digest).reason == "no signature"
        _lookaside(tmp_path, digest).write_bytes(b"not an OpenPGP message")
        assert v.check(inv.regions[0], digest).reason == "bad signature"
    assert not v.home.exists(), "the private GPG home is removed"
