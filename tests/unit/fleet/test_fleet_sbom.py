"""The SBOM generator on this machine's own Python and Debian packages, checked against the
CycloneDX 1.5 schema (cyclonedx-python-lib's strict validator)."""

from __future__ import annotations

import json
from email.message import Message
from pathlib import Path

import pytest
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from hanvoice.fleet.sbom import debian_licenses, main, make_sbom, python_licenses, summary


@pytest.fixture(scope="module")
def sbom() -> dict[str, object]:
    return make_sbom("hanvoice", "0.2.0", commit="abc1234")


def test_valid_cyclonedx_listing_python_and_debian_packages(sbom: dict[str, object]) -> None:
    errors = JsonStrictValidator(SchemaVersion.V1_5).validate_str(json.dumps(sbom))
    assert errors is None, errors
    counts = summary(sbom)
    assert counts["pypi"] >= 30 and counts["deb"] >= 50, counts
    comps = {c["purl"].split("@")[0]: c for c in sbom["components"]}  # type: ignore[attr-defined]
    assert comps["pkg:pypi/hanvoice"]["licenses"] == [{"license": {"id": "MIT"}}]
    assert comps["pkg:pypi/numpy"]["version"] and comps["pkg:pypi/numpy"]["licenses"]
    bash = comps["pkg:deb/debian/bash"]
    assert bash["purl"].endswith("?arch=amd64&distro=debian-12"), bash["purl"]
    assert {"license": {"name": "GPL-3+"}} in bash["licenses"]


def test_same_filesystem_same_bytes(sbom: dict[str, object]) -> None:
    again = make_sbom("hanvoice", "0.2.0", commit="abc1234")
    assert json.dumps(again, sort_keys=True) == json.dumps(sbom, sort_keys=True)
    other = make_sbom("hanvoice", "0.2.1", commit="abc1234")
    assert other["serialNumber"] != sbom["serialNumber"]


def _meta(**fields: str | list[str]) -> Message:
    m = Message()
    for k, v in fields.items():
        for item in v if isinstance(v, list) else [v]:
            m[k.replace("_", "-")] = item
    return m


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"License_Expression": "Apache-2.0 OR MIT"}, [{"expression": "Apache-2.0 OR MIT"}]),
        ({"License": "MIT"}, [{"license": {"id": "MIT"}}]),
        ({"License": "BSD License"}, [{"license": {"id": "BSD-3-Clause"}}]),
        ({"License": "Mulan PSL v2"}, [{"license": {"name": "Mulan PSL v2"}}]),
        ({"License": "UNKNOWN"}, []),
        ({"License": "Copyright (c) 2020\nPermission is hereby granted"}, []),
        ({"Classifier": ["License :: OSI Approved :: MIT License",
                         "Programming Language :: Python"]}, [{"license": {"id": "MIT"}}]),
        ({"License": "MIT", "Classifier": "License :: OSI Approved :: MIT License"},
         [{"license": {"id": "MIT"}}]),
    ],
)  # fmt: skip
def test_python_licenses(fields: dict[str, str | list[str]], expected: list[object]) -> None:
    assert python_licenses(_meta(**fields)) == expected


def test_debian_licenses_from_a_dep5_copyright_file(tmp_path: Path) -> None:
    text = (
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\n"
        "Files: *\nCopyright: 2020 A\nLicense: GPL-2+\n\n"
        "Files: lib/*\nLicense: BSD-3-clause\n full text\n .\n more\n\n"
        "License: GPL-2+\n On Debian systems ...\n"
    )
    (tmp_path / "copyright").write_text(text, encoding="utf-8")
    assert debian_licenses(tmp_path / "copyright") == ["GPL-2+", "BSD-3-clause"]
    assert debian_licenses(tmp_path / "missing") == []


def test_command_writes_the_file_and_prints_its_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sbom.cdx.json"
    assert main(["-o", str(out), "--version", "0.2.0"]) == 0
    counts = json.loads(capsys.readouterr().out)
    assert counts == summary(json.loads(out.read_text(encoding="utf-8")))
