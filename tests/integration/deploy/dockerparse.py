"""Just enough of Docker's file formats to test deploy/Dockerfile without a Docker engine.

``parse_dockerfile`` splits a Dockerfile into stages and instructions (continuation lines
joined, comments dropped); ``DockerIgnore`` applies ``.dockerignore`` rules the way BuildKit
does: patterns in order, the last match wins, ``!`` re-includes, ``**`` crosses folders, and
a rule matching a folder matches everything below it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Instruction:
    keyword: str
    args: str
    flags: dict[str, str] = field(default_factory=dict)

    def exec_form(self) -> list[str] | None:
        """The JSON-array form (``["a", "b"]``), or None for the shell form."""
        text = self.args.strip()
        if not text.startswith("["):
            return None
        value = json.loads(text)
        assert isinstance(value, list)
        return [str(v) for v in value]


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def args(self) -> dict[str, str]:
        """ARG defaults of this stage (a RUN sees them as environment variables)."""
        args = {}
        for i in self.instructions:
            if i.keyword == "ARG" and "=" in i.args:
                k, v = i.args.split("=", 1)
                args[k.strip()] = v.strip()
        return args

    def env(self) -> dict[str, str]:
        """ENV values of this stage, ``key=value`` pairs (ARG defaults substituted)."""
        args = self.args()
        out: dict[str, str] = {}
        for i in self.all("ENV"):
            for k, v in re.findall(r'(\w+)=("[^"]*"|\S+)', i.args):
                v = v.strip('"')
                v = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args.get(m[1] or m[2], out.get(
                    m[1] or m[2], m[0])), v)  # fmt: skip
                out[k] = v
        return out


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs (before the first FROM) and the stages."""
    logical: list[str] = []
    buf = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not buf and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.lstrip().startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        logical.append(buf + line)
        buf = ""
    global_args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        flags = {}
        while rest.startswith("--"):
            flag, _, rest = rest.partition(" ")
            k, _, v = flag[2:].partition("=")
            flags[k] = v
            rest = rest.lstrip()
        if keyword == "FROM":
            parts = rest.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else str(len(stages))
            base = parts[0]
            base = re.sub(r"\$\{(\w+)\}", lambda m: global_args.get(m[1], m[0]), base)
            stages.append(Stage(base=base, name=name))
        elif not stages:
            if keyword == "ARG":
                k, _, v = rest.partition("=")
                global_args[k.strip()] = v.strip()
        else:
            stages[-1].instructions.append(Instruction(keyword, rest.strip(), flags))
    return global_args, stages


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        else:
            out += re.escape(c)
        i += 1
    return re.compile(rf"^{out}$")


class DockerIgnore:
    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        self.reincluded: list[str] = []
        """Literal leading parts of the ``!`` patterns (to prune excluded folders)."""
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            pattern = line[1:].strip() if negate else line
            pattern = pattern.strip("/")
            pattern = re.sub(r"/+", "/", pattern).removeprefix("./")
            self.rules.append((negate, _pattern_regex(pattern)))
            if negate:
                self.reincluded.append(re.split(r"[*?\[]", pattern, maxsplit=1)[0])

    def excluded(self, path: str) -> bool:
        """Whether ``path`` (relative to the context, ``/``-separated) stays out of it."""
        parts = path.strip("/").split("/")
        prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        result = False
        for negate, regex in self.rules:
            if any(regex.match(p) for p in prefixes):
                result = not negate
        return result

    def _may_reinclude(self, folder: str) -> bool:
        return any(
            lit == "" or lit.startswith(folder + "/") or folder.startswith(lit.rstrip("/"))
            for lit in self.reincluded
        )

    def context_files(self, root: Path) -> list[str]:
        """Every file of ``root`` that the build context would contain."""
        out = []
        for folder, dirs, files in os.walk(root):
            rel_dir = Path(folder).relative_to(root).as_posix()
            rel_dir = "" if rel_dir == "." else rel_dir
            keep = []
            for d in dirs:
                rel = f"{rel_dir}/{d}".lstrip("/")
                if not self.excluded(rel) or self._may_reinclude(rel):
                    keep.append(d)
            dirs[:] = sorted(keep)
            for f in sorted(files):
                rel = f"{rel_dir}/{f}".lstrip("/")
                if not self.excluded(rel):
                    out.append(rel)
        return sorted(out)
