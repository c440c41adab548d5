"""Hot reload from a real etcd: two nodes follow a flip within seconds, without restart,
and keep serving on their last good config when etcd dies."""

from __future__ import annotations

import random
from collections.abc import Iterator

import httpx
import pytest
from prod_server import Node, eventually, start_node, tts

from support.servers import EtcdServer, RedisServer

PREFIX = "/hanvoice/config/"


@pytest.fixture(scope="module")
def nodes(
    etcd: EtcdServer, redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Node]]:
    d = tmp_path_factory.mktemp("etcd-nodes")
    settings = {
        "etcd_endpoints": etcd.endpoint,
        "etcd_prefix": PREFIX,
        "etcd_poll_interval": 1.0,
        "redis_url": redis.url,
        "retry_after": 7,
    }
    started = [start_node(d, **settings), start_node(d, **settings)]
    yield started
    for n in started:
        n.stop()


@pytest.fixture(autouse=True)
def clean(etcd: EtcdServer, nodes: list[Node]) -> Iterator[None]:
    yield
    etcd.start()
    etcd.ctl("del", "--prefix", PREFIX)
    for n in nodes:
        eventually(lambda n=n: admin(n)["sources"]["etcd"]["keys"] == [], timeout=15)


def admin(node: Node) -> dict:  # type: ignore[type-arg]
    return httpx.get(node.url + "/admin/config", timeout=10).json()  # type: ignore[no-any-return]


def unique(prefix: str) -> str:
    return f"{prefix}第{random.randrange(10**6)}号。"


def test_emotion_whitelist_follows_etcd(etcd: EtcdServer, nodes: list[Node]) -> None:
    text = unique("白名单")
    assert all(tts(n.url, text, emotion="happy").status_code == 200 for n in nodes)
    etcd.put(PREFIX + "allowed_emotions", "[neutral, sad]")
    for n in nodes:
        took = eventually(lambda n=n: tts(n.url, text, emotion="happy").status_code == 400)
        print(f"\nwhitelist in force on {n.url} after {took:.2f} s")
        r = tts(n.url, text, emotion="happy")
        assert r.json()["error"]["code"] == "invalid_parameter" and "happy" in r.text
        assert tts(n.url, text, emotion="sad").status_code == 200
    etcd.delete(PREFIX + "allowed_emotions")
    for n in nodes:
        eventually(lambda n=n: tts(n.url, text, emotion="happy").status_code == 200)


def test_degrade_mode_serves_cached_audio_only(etcd: EtcdServer, nodes: list[Node]) -> None:
    a = nodes[0]
    cached = unique("降级前已缓存")
    assert tts(a.url, cached).status_code == 200  # in Redis now, so b has it too
    etcd.put(PREFIX + "degrade", "true")
    for n in nodes:
        took = eventually(lambda n=n: tts(n.url, unique("降级时的新句子")).status_code == 503)
        print(f"\ndegrade mode on {n.url} after {took:.2f} s")
        miss = tts(n.url, unique("降级时未缓存"))
        assert miss.status_code == 503 and miss.headers["retry-after"] == "7"
        assert miss.json()["error"]["code"] == "degraded"
        hit = tts(n.url, cached)
        assert hit.status_code == 200 and hit.headers["x-cache"] == "hit"
        assert "hanvoice_degraded 1.0" in n.metrics()
        assert admin(n)["degrade"] is True
    etcd.put(PREFIX + "degrade", "false")
    for n in nodes:
        eventually(lambda n=n: tts(n.url, unique("恢复后")).status_code == 200)
        assert "hanvoice_degraded 0.0" in n.metrics()


def test_rate_limit_from_etcd_is_shared_by_both_nodes(etcd: EtcdServer, nodes: list[Node]) -> None:
    text = unique("限流")
    assert tts(nodes[0].url, text).status_code == 200
    etcd.put(PREFIX + "rate_limit", "3/minute")
    for n in nodes:
        eventually(lambda n=n: admin(n)["rate_limit"]["spec"] == "3/minute")
    codes = []
    for i in range(5):
        r = tts(nodes[i % 2].url, text)
        codes.append(r.status_code)
        if r.status_code == 200:
            assert r.headers["x-ratelimit-limit"] == "3"
            assert r.headers["x-ratelimit-remaining"] == str(2 - i)
        else:
            assert r.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(r.headers["retry-after"]) <= 60
            assert r.headers["x-ratelimit-remaining"] == "0"
    assert codes == [200, 200, 200, 429, 429]
    assert "hanvoice_rate_limited_total" in nodes[1].metrics()
    etcd.delete(PREFIX + "rate_limit")
    for n in nodes:
        eventually(lambda n=n: tts(n.url, text).status_code == 200)


def test_a_bad_value_is_refused_and_the_last_good_config_stays(
    etcd: EtcdServer, nodes: list[Node]
) -> None:
    a, _ = nodes
    before = admin(a)["version"]
    etcd.put(PREFIX + "cache_ttl", "-5")
    eventually(lambda: "cache_ttl" in (admin(a)["last_error"] or ""))
    state = admin(a)
    assert state["version"] == before and state["settings"]["cache_ttl"] == 86400
    assert 'hanvoice_config_reloads_total{result="refused",source="etcd"}' in a.metrics()
    refused = [x for x in a.log_lines() if "refused" in x["message"]]
    assert refused and "cache_ttl" in refused[-1]["message"]
    assert tts(a.url, unique("坏配置后")).status_code == 200
    etcd.put(PREFIX + "cache_ttl", "600")  # a good value is applied again
    eventually(lambda: admin(a)["settings"]["cache_ttl"] == 600)
    version = httpx.get(a.url + "/version", timeout=10).json()["config_version"]
    assert "+etcd." in version and version != before


def test_etcd_killed_service_keeps_serving_on_last_good_config(
    etcd: EtcdServer, nodes: list[Node]
) -> None:
    text = unique("etcd停机")
    etcd.put(PREFIX + "allowed_emotions", "neutral")
    for n in nodes:
        eventually(lambda n=n: tts(n.url, text, emotion="happy").status_code == 400)
    etcd.kill()
    for n in nodes:
        took = eventually(
            lambda n=n: 'hanvoice_config_source_up{source="etcd"} 0.0' in n.metrics(), timeout=15
        )
        print(f"\netcd loss seen by {n.url} after {took:.2f} s")
        assert tts(n.url, text).status_code == 200  # still serving
        assert tts(n.url, text, emotion="happy").status_code == 400  # last good config kept
        state = admin(n)
        assert state["sources"]["etcd"]["healthy"] is False
        assert any("unreachable" in x["message"] for x in n.log_lines())
    etcd.start()
    etcd.delete(PREFIX + "allowed_emotions")
    for n in nodes:
        took = eventually(lambda n=n: tts(n.url, text, emotion="happy").status_code == 200,
                          timeout=20)  # fmt: skip
        print(f"etcd back; change picked up by {n.url} after {took:.2f} s")
        assert 'hanvoice_config_source_up{source="etcd"} 1.0' in n.metrics()
        downs = [x for x in n.log_lines() if "unreachable" in x["message"]]
        assert len(downs) == 1, downs  # said once per outage, not per retry


def test_filter_words_and_policy_from_etcd(etcd: EtcdServer, nodes: list[Node]) -> None:
    etcd.put(PREFIX + "filter_words", "{fraud: [刷单返利]}")
    for n in nodes:
        eventually(lambda n=n: tts(n.url, "招聘刷 单 返 利人员。").status_code == 422)
        r = tts(n.url, "招聘刷單返利人员。")
        assert r.json()["error"]["code"] == "content_rejected" and "fraud" in r.text
        assert "刷" not in r.text
    etcd.put(PREFIX + "filter_policy", "mask")
    for n in nodes:
        eventually(lambda n=n: tts(n.url, "招聘刷 单 返 利人员。").status_code == 200)


def test_log_level_from_etcd(etcd: EtcdServer, nodes: list[Node]) -> None:
    a = nodes[0]
    etcd.put(PREFIX + "log_level", "debug")
    eventually(lambda: admin(a)["settings"]["log_level"] == "debug")
    assert any(x["level"] == "info" and "log_level" in x["message"] for x in a.log_lines())
