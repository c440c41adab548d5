"""The image's software bill of materials (CycloneDX 1.5 JSON), made inside the image build.

``python -m hanvoice.fleet.sbom -o /app/sbom.cdx.json --version 0.2.0`` runs as the last
root step of ``deploy/Dockerfile``'s runtime stage, so it lists exactly what ships: every
Python distribution the interpreter running it can import (the venv after the prune, the
project itself included) with its version and licence, and every Debian package dpkg's
database says is installed, with the licences its ``copyright`` file declares (DEP-5).
``scripts/image.sh`` copies the file out of the image to ``artifacts/``, and
``scripts/release.sh`` publishes it beside the image.

Stdlib only (it runs in the image, where nothing else is promised), and reproducible: no
timestamp, and the serial number is derived from the content, so the same filesystem
gives the same bytes, and the same SBOM layer.

Licences: a PEP 639 ``License-Expression`` is kept as an expression; else a short
``License`` field or a licence classifier is mapped to an SPDX id where the mapping is
certain (``MIT License`` -> ``MIT``) and kept by name otherwise. Debian's copyright files
name licences by DEP-5 short names (``GPL-2+``), which are kept as names.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import quote

SPEC_VERSION = "1.5"
SPDX = {
    "mit": "MIT",
    "mit license": "MIT",
    "bsd": "BSD-3-Clause",
    "bsd license": "BSD-3-Clause",
    "bsd-3-clause": "BSD-3-Clause",
    "bsd 3-clause": "BSD-3-Clause",
    "bsd-2-clause": "BSD-2-Clause",
    "apache 2.0": "Apache-2.0",
    "apache-2.0": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "isc": "ISC",
    "isc license": "ISC",
    "isc license (iscl)": "ISC",
    "psf": "PSF-2.0",
    "python software foundation license": "PSF-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "mpl-2.0": "MPL-2.0",
    "the unlicense (unlicense)": "Unlicense",
    "gnu lesser general public license v3 (lgplv3)": "LGPL-3.0-only",
    "gnu general public license v3 (gplv3)": "GPL-3.0-only",
    "zlib": "Zlib",
}
"""Licence names seen in package metadata -> SPDX ids (lower case keys)."""
_CLASSIFIER = "License :: OSI Approved :: "


def python_components(paths: list[str] | None = None) -> list[dict[str, Any]]:
    """One component per importable distribution (``paths``: default ``sys.path``)."""
    seen: dict[str, dict[str, Any]] = {}
    for dist in metadata.distributions(path=paths or sys.path):
        name = dist.metadata["Name"]
        if not name or _norm(name) in seen:
            continue
        version = dist.version
        component: dict[str, Any] = {
            "type": "library",
            "bom-ref": f"pkg:pypi/{_norm(name)}@{version}",
            "name": name,
            "version": version,
            "purl": f"pkg:pypi/{_norm(name)}@{quote(version)}",
        }
        licenses = python_licenses(dist.metadata)
        if licenses:
            component["licenses"] = licenses
        seen[_norm(name)] = component
    return sorted(seen.values(), key=lambda c: c["bom-ref"])


def python_licenses(meta: Any) -> list[dict[str, Any]]:
    """CycloneDX licence choices from one distribution's metadata.

    >>> python_licenses({"License-Expression": "MIT OR Apache-2.0"})
    [{'expression': 'MIT OR Apache-2.0'}]
    """
    expression = meta.get("License-Expression")
    if expression:
        return [{"expression": expression.strip()}]
    names: list[str] = []
    text = (meta.get("License") or "").strip()
    if text and "\n" not in text and len(text) <= 80 and text.upper() != "UNKNOWN":
        names.append(text)
    classifiers = meta.get_all("Classifier") if hasattr(meta, "get_all") else None
    for c in classifiers or []:
        if c.startswith(_CLASSIFIER):
            names.append(c[len(_CLASSIFIER) :])
    return _license_list(names)


def debian_components(root: Path, distro: str) -> list[dict[str, Any]]:
    """One component per package dpkg has installed under ``root``."""
    status = root / "var/lib/dpkg/status"
    if not status.exists():
        return []
    out = []
    for fields in _stanzas(status.read_text(encoding="utf-8", errors="replace")):
        if fields.get("Status", "").split()[-1:] != ["installed"]:
            continue
        name, version, arch = fields["Package"], fields["Version"], fields.get("Architecture")
        purl = f"pkg:deb/debian/{name}@{quote(version)}"
        qualifiers = [f"arch={arch}"] if arch else []
        qualifiers += [f"distro={distro}"] if distro else []
        if qualifiers:
            purl += "?" + "&".join(qualifiers)
        component: dict[str, Any] = {
            "type": "library",
            "bom-ref": purl,
            "name": name,
            "version": version,
            "purl": purl,
        }
        licenses = _license_list(debian_licenses(root / "usr/share/doc" / name / "copyright"))
        if licenses:
            component["licenses"] = licenses
        out.append(component)
    return sorted(out, key=lambda c: c["bom-ref"])


def debian_licenses(copyright_file: Path) -> list[str]:
    """The licence short names of a machine-readable (DEP-5) copyright file, in order."""
    try:
        text = copyright_file.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    names = re.findall(r"^License:[ \t]*(\S[^\n]*)$", text, flags=re.MULTILINE)
    return list(dict.fromkeys(n.strip() for n in names))


def _license_list(names: Iterable[str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in dict.fromkeys(names):
        spdx = SPDX.get(name.lower())
        entry = {"license": {"id": spdx} if spdx else {"name": name}}
        if entry not in out:
            out.append(entry)
    return out


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    """dpkg's status file: paragraphs of ``Field: value`` (continuation lines dropped)."""
    for block in text.split("\n\n"):
        fields = {}
        for line in block.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if "Package" in fields and "Version" in fields:
            yield fields


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def os_release(root: Path) -> str:
    """``debian-12`` from ``/etc/os-release`` (empty when unknown)."""
    try:
        text = (root / "etc/os-release").read_text(encoding="utf-8")
    except OSError:
        return ""
    values = dict(re.findall(r'^(\w+)="?([^"\n]*)"?$', text, flags=re.MULTILINE))
    if "ID" in values and "VERSION_ID" in values:
        return f"{values['ID']}-{values['VERSION_ID']}"
    return ""


def make_sbom(
    name: str,
    version: str,
    *,
    commit: str = "",
    root: Path = Path("/"),
    python_paths: list[str] | None = None,
) -> dict[str, Any]:
    """The whole document for the image ``name:version``."""
    components = python_components(python_paths) + debian_components(root, os_release(root))
    subject: dict[str, Any] = {
        "type": "container",
        "bom-ref": f"{name}@{version}",
        "name": name,
        "version": version,
    }
    if commit:
        subject["properties"] = [{"name": "org.opencontainers.image.revision", "value": commit}]
    body = {"metadata": {"component": subject}, "components": components}
    serial = uuid.uuid5(uuid.NAMESPACE_URL, json.dumps(body, sort_keys=True))
    return {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        **body,
    }


def summary(doc: dict[str, Any]) -> dict[str, int]:
    """Counts for a release note: ``{"components": …, "pypi": …, "deb": …, "licensed": …}``."""
    comps = doc.get("components", [])
    return {
        "components": len(comps),
        "pypi": sum(c.get("purl", "").startswith("pkg:pypi/") for c in comps),
        "deb": sum(c.get("purl", "").startswith("pkg:deb/") for c in comps),
        "licensed": sum(bool(c.get("licenses")) for c in comps),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m hanvoice.fleet.sbom", description=__doc__)
    p.add_argument("-o", "--output", required=True, help="where to write the JSON")
    p.add_argument("--name", default="hanvoice")
    p.add_argument("--version", required=True, help="the image's build (tag)")
    p.add_argument("--commit", default="")
    p.add_argument("--root", default="/", help="filesystem whose dpkg database is read")
    args = p.parse_args(argv)
    doc = make_sbom(args.name, args.version, commit=args.commit, root=Path(args.root))
    text = json.dumps(doc, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    Path(args.output).write_text(text, encoding="utf-8")
    print(json.dumps(summary(doc)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
