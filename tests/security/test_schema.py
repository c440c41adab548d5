"""The schema is the contract: schemathesis generates requests from ``/openapi.json``
(examples, boundary values, random data, and negative data that breaks the schema) against
the real server, and every answer must conform: no server error, a documented status, the
documented content type, headers and body, an ``Allow`` header on a 405, schema-invalid
data refused.

One check is left out, ``positive_data_acceptance`` (a schema-valid request must not get a
4xx): a JSON schema cannot say that a text must have something speakable in it, that an
emotion must be one of the voice's (``hate`` is an alias, case does not matter), or that an
upload must be audio. Those are 400s with a reason, as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from security.conftest import Node

EXAMPLES = 20
"""Generated cases per operation and phase: about 600 requests, some 20 s."""


def test_every_answer_conforms_to_the_schema(node: Node, tmp_path: Path) -> None:
    report = tmp_path / "st.json"
    cmd = [
        str(Path(sys.executable).parent / "schemathesis"), "run", node.url + "/openapi.json",
        "--checks", "all", "--exclude-checks", "positive_data_acceptance",
        "--max-examples", str(EXAMPLES), "--phases", "examples,coverage,fuzzing",
        "--seed", "1", "--report", "ndjson", "--report-ndjson-path", str(report),
        "--report-dir", str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_TELEMETRY": "false"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    summary = out.stdout[-4000:]
    assert out.returncode == 0, summary
    assert ("generated" in summary and "0 failures" not in summary) or out.returncode == 0
    events = [json.loads(line) for line in report.read_text().splitlines() if line.strip()]
    assert events, "no report"
