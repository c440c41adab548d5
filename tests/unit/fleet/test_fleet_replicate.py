"""What replication sent: skopeo's debug log against the manifest (real log lines)."""

from __future__ import annotations

import pytest

from hanvoice.fleet.replicate import sbom_tag, sent_bytes

A, B, C = ("sha256:" + x * 64 for x in "abc")
MANIFEST = {
    "config": {"digest": C, "size": 5_000},
    "layers": [{"digest": A, "size": 200_000_000}, {"digest": B, "size": 1_500_000}],
}


def _check(digest: str, exists: bool) -> str:
    line = f'time="…" level=debug msg="Checking /v2/hanvoice/hanvoice/blobs/{digest}"'
    if exists:
        line += '\ntime="…" level=debug msg="... already exists"'
    return line


@pytest.mark.parametrize(
    ("present", "expected"),
    [
        ((), (1_000 + 201_505_000, 3, 0)),  # a first release: everything
        ((A,), (1_000 + 1_505_000, 2, 1)),  # a code-only release: the big layer stays
        ((A, B, C), (1_000, 0, 3)),  # the same digest again: only the manifest
    ],
)
def test_only_blobs_the_region_lacked_count(
    present: tuple[str, ...], expected: tuple[int, int, int]
) -> None:
    log = "\n".join(
        [
            'time="…" level=debug msg="Checking if we can reuse blob …"',
            *(_check(d, d in present) for d in (A, B)),
            "Copying blob " + A,  # plain progress lines say nothing about reuse
            _check(C, C in present),
        ]
    )
    assert sent_bytes(log, MANIFEST, 1_000) == expected


def test_sbom_tag_follows_the_attachment_convention() -> None:
    assert sbom_tag(A) == "sha256-" + "a" * 64 + ".sbom"
