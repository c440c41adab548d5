"""Hot reload from a config file swapped the way Kubernetes updates a ConfigMap volume (an
atomic rename of the ``..data`` symlink), and the content filter against bypass attempts."""

from __future__ import annotations

import base64
import itertools
import os
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prod_server import Node, eventually, start_node, tts

from support.audio import assert_speech, decode


def fresh() -> dict[str, str]:
    """A new client address behind the trusted proxy, so rate limits set by one test do
    not refuse the next test's requests."""
    return {"X-Forwarded-For": f"10.{next(_clients) % 250}.{random.randrange(250)}.1"}


_clients = itertools.count(1)


WORDS = {"violence": ["炸弹"], "spam": ["发票代开"], "ads": ["FREEMONEY"]}


class ConfigMap:
    """A folder laid out as kubelet lays out a ConfigMap volume."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.n = 0

    def publish(self, files: dict[str, str]) -> None:
        self.n += 1
        version = self.root / f"..2026_v{self.n}"
        version.mkdir()
        for name, text in files.items():
            (version / name).write_text(text, "utf-8")
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(version.name)
        os.replace(tmp, self.root / "..data")  # the atomic swap
        for name in files:
            link = self.root / name
            if not link.is_symlink():
                link.symlink_to(f"..data/{name}")


def config(words_file: Path, **over: Any) -> str:
    base: dict[str, Any] = {
        "region": "cn-file",
        "filter_words_file": str(words_file),
        "filter_policy": "reject",
        "trusted_proxies": ["127.0.0.1"],
        "log_text": False,
    }
    base.update(over)
    return yaml.safe_dump(base, allow_unicode=True)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Node, ConfigMap]]:
    root = tmp_path_factory.mktemp("configmap")
    cm = ConfigMap(root)
    cm.publish(
        {
            "hanvoice.yaml": config(root / "words.yaml"),
            "words.yaml": yaml.safe_dump(WORDS, allow_unicode=True),
        }
    )
    node = start_node(root, config=root / "hanvoice.yaml", config_poll_interval=0.5)
    yield node, cm
    node.stop()


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("我有一个炸弹。", "violence"),
        ("我有一个炸 弹。", "violence"),
        ("我有一个炸.弹。", "violence"),
        ("我有一个炸彈。", "violence"),
        ("我有一个炸\u200b弹。", "violence"),
        ("专业发 票 代 开。", "spam"),
        ("点这里领 ＦＲＥＥ ＭＯＮＥＹ 吧。", "ads"),
        ("点这里领 f-r-e-e m.o.n.e.y 吧。", "ads"),
    ],
)
def test_filter_bypass_attempts_are_rejected(
    setup: tuple[Node, ConfigMap], text: str, category: str
) -> None:
    node, _ = setup
    r = tts(node.url, text)
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["code"] == "content_rejected" and category in err["message"]
    for word in ("炸", "弹", "彈", "发票", "FREE", "free"):
        assert word not in r.text


def test_clean_text_passes(setup: tuple[Node, ConfigMap]) -> None:
    node, _ = setup
    r = tts(node.url, "炸酱面和弹钢琴都很好。")  # the characters apart are fine
    assert r.status_code == 200


def test_filtered_requests_are_counted_and_logged_without_the_text(
    setup: tuple[Node, ConfigMap],
) -> None:
    node, _ = setup
    tts(node.url, "我有一个炸 弹。")
    assert 'hanvoice_filtered_total{action="reject",category="violence"}' in node.metrics()
    rejected = [x for x in node.access() if x.get("error") == "content_rejected"]
    assert rejected and rejected[-1]["status"] == 422 and rejected[-1]["filtered"] == ["violence"]
    assert "炸" not in node.output()


def test_configmap_swap_applies_dynamic_keys(setup: tuple[Node, ConfigMap]) -> None:
    node, cm = setup
    words = dict(WORDS, place=["某地"])
    cm.publish(
        {
            "hanvoice.yaml": config(
                cm.root / "words.yaml",
                filter_policy="mask",
                allowed_emotions=["neutral", "sad"],
                rate_limit="2/minute",
                region="cn-elsewhere",  # static: needs a restart, must not change now
            ),
            "words.yaml": yaml.safe_dump(words, allow_unicode=True),
        }
    )
    took = eventually(lambda: tts(node.url, "你好。", fresh(), emotion="happy").status_code == 400)
    print(f"\nConfigMap swap in force after {took:.2f} s")
    # mask policy: the word is replaced and the rest is spoken
    r = tts(node.url, "我在某地有一个炸 弹。", fresh(), timestamps=True, emotion="sad")
    assert r.status_code == 200, r.text
    spoken = "".join(t["char"] for t in r.json()["timestamps"])
    assert "炸" not in spoken and "弹" not in spoken and "某" not in spoken and "有" in spoken
    audio, sr = decode(base64.b64decode(r.json()["audio"]))
    assert_speech(audio, sr)
    assert 'hanvoice_filtered_total{action="mask",category="place"}' in node.metrics()
    # the static key was not applied, and that was said
    assert httpx.get(node.url + "/version", timeout=10).json()["region"] == "cn-file"
    assert any("restart to apply" in x["message"] for x in node.log_lines())


def test_rate_limit_per_forwarded_client(setup: tuple[Node, ConfigMap]) -> None:
    """The trusted proxy (127.0.0.1) forwards for several clients: each has its own limit."""
    node, _ = setup
    eventually(lambda: "2/minute" in httpx.get(node.url + "/admin/config").text)

    def call(ip: str) -> int:
        return httpx.post(
            node.url + "/tts", json={"text": "限流测试。"},
            headers={"X-Forwarded-For": f"198.51.100.77, {ip}"}, timeout=60,
        ).status_code  # fmt: skip

    assert [call("203.0.113.10") for _ in range(3)] == [200, 200, 429]
    assert call("203.0.113.11") == 200
    # the access log line is written once the answer is sent: the client may be first
    eventually(lambda: "203.0.113.11" in {x["client_ip"] for x in node.access()})
    ips = {x["client_ip"] for x in node.access()}
    assert {"203.0.113.10", "203.0.113.11"} <= ips and "198.51.100.77" not in ips


def test_a_broken_file_keeps_the_last_good_config(setup: tuple[Node, ConfigMap]) -> None:
    node, cm = setup
    before = httpx.get(node.url + "/admin/config").json()["version"]
    cm.publish({"hanvoice.yaml": "filter_policy: [unclosed\n", "words.yaml": "{}\n"})
    eventually(lambda: httpx.get(node.url + "/admin/config").json()["last_error"])
    state = httpx.get(node.url + "/admin/config").json()
    assert state["version"] == before and "not valid YAML" in state["last_error"]
    assert tts(node.url, "你好。", fresh(), emotion="happy").status_code == 400  # last good
    assert 'hanvoice_config_reloads_total{result="refused",source="file"}' in node.metrics()
    # a config must be whole: the keys the swap set are written out, not left to defaults
    good = config(cm.root / "words.yaml", allowed_emotions=[], rate_limit="")
    cm.publish({"hanvoice.yaml": good, "words.yaml": "{}\n"})
    eventually(lambda: tts(node.url, "你好。", fresh(), emotion="happy").status_code == 200)
    assert tts(node.url, "我有一个炸弹。", fresh()).status_code == 200  # empty word list now
