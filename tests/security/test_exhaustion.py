"""Nothing a client sends takes a node down (issue 22): every class of
``exhaustion.yaml`` against a real server. For each member: every answer is the expected
4xx or audio (never a 5xx, never a dropped connection without an error frame), ``/health``
keeps answering throughout, a stalled reader's slot is free within ``send_timeout`` + 1 s,
and the node's peak memory over the whole suite stays under 600 MB."""

from __future__ import annotations

import pytest

from security.attacks import Member, load, run
from security.conftest import PEAK_RSS_MB, SEND_TIMEOUT, Health, Node, drops_after

MEMBERS = load("exhaustion.yaml")


@pytest.mark.parametrize("member", MEMBERS, ids=[m.id for m in MEMBERS])
def test_attack(node: Node, member: Member) -> None:
    mark = len(node.log_lines())
    with Health(node.url) as health:
        out = run(member, node.url, send_timeout=SEND_TIMEOUT, drop_seen=drops_after(node, mark))
    assert out.problems == [], (out.statuses, out.codes)
    assert health.failures == []
    assert health.latencies, "the probe never ran"
    assert node.proc.poll() is None, "the node died"
    crashes = [e for e in node.log_lines()[mark:] if e.get("level") in ("error", "critical")]
    assert crashes == []


def test_peak_memory_over_the_suite(node: Node) -> None:
    """Runs last (file order): the high-water mark of everything above."""
    assert node.peak_rss_mb() <= PEAK_RSS_MB
