"""What replication sent: skopeo's debug log against the manifest (real log lines)."""

from __future__ import annotations

import pytest

from hanvoice.fleet.replicate import sbom_tag, sent_bytes

A, B, C = ("sha256:" + x * 64 for x in "abc")
MANIFEST = {
    "config": {"digest": C, "size": 5_000},
    "layers": [{"digest": A, "size": 200_000_000}, {"digest": B, "size": 1_500_000}],
}


def _check(digest: str) -> str:
    return f'time="…" level=debug msg="Checking /v2/hanvoice/hanvoice/blobs/{digest}"'


EXISTS = 'time="…" level=debug msg="... already exists"'


def _skip(digest: str) -> str:
    return f'time="…" level=debug msg="Skipping blob {digest} (already present):"'


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
    # the layers are checked in parallel: their replies come in any order, unnamed
    layers = [_check(A), _check(B), *[EXISTS for d in (A, B) if d in present]]
    layers += ["Copying blob " + A]  # plain progress lines say nothing about reuse
    layers += [_skip(d) for d in (B, A) if d in present]
    config = [_check(C), *([EXISTS] if C in present else []), "Writing manifest"]
    assert sent_bytes("\n".join(layers + config), MANIFEST, 1_000) == expected


def test_an_unnamed_reply_is_not_taken_for_the_config() -> None:
    log = "\n".join([_check(A), _check(C), "Copying config", _check(B), EXISTS])
    assert sent_bytes(log, MANIFEST, 0)[1:] == (3, 0)


def test_sbom_tag_follows_the_attachment_convention() -> None:
    assert sbom_tag(A) == "sha256-" + "a" * 64 + ".sbom"
