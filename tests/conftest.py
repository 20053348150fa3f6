"""Shared fixtures, and the plugin that runs the YAML case files in tests/cases/.

A case file holds a ``base`` profile and a list of ``cases``; each case is a sentence-named
profile (``profile`` added to the base, ``unset`` facts removed from it) with the expected
status of benefits and measures and, optionally, the expected missing facts:

    base: {tech_sme_registered: true}
    cases:
      - name: An R&D increase of exactly 200,000 yuan meets the 20万（含）threshold.
        profile: {rd_expense: 1200000, rd_expense_prior_year: 1000000}
        expect: {KM7.rd_growth_reward: applies}
        missing: {KM7.rd_growth_reward: []}

``precheck``, ``estimates`` (amounts), ``estimate_totals`` and ``estimate_missing`` (the facts an
amount still needs) check the rest of the answer. A failure reads ``file: case name: benefit X was Y, expected Z``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

import policy_kb

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).resolve().parent / "cases"
EXAMPLES = ROOT / "examples"
SHARED_SOURCE = ROOT.parent / "shared" / "policy" / "000_6cc745b56c039c16.txt"


@pytest.fixture(scope="session")
def kb() -> policy_kb.KnowledgeBase:
    return policy_kb.load()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def measures_text() -> str:
    return (ROOT / "measures.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def source_text() -> str:
    return (ROOT / "sources" / "000_6cc745b56c039c16.txt").read_text(encoding="utf-8")


def run_cli(
    *args: str, stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m policy_kb`` as a user would, capturing its output."""
    env = {**os.environ, "PYTHONIOENCODING": "utf-8", "NO_COLOR": "1"}
    env.pop("POLICY_KB_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "policy_kb", *args],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=cwd or ROOT,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.fixture(scope="session")
def cli():
    return run_cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``policy-kb serve`` in a child process on a free port; yields its base URL, then stops it."""
    import httpx

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "policy_kb", "serve", "--port", str(port), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    try:
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                error = proc.stderr.read().decode() if proc.stderr else ""
                raise RuntimeError(f"the server did not start: {error}")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def load_cases() -> list[tuple[Path, dict[str, Any]]]:
    """Every case of every case file, with the file it came from (for the coverage test)."""
    found = []
    for path in sorted(CASES.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        base = data.get("base") or {}
        for case in data["cases"]:
            found.append((path, _profile(base, case)))
    return found


def _profile(base: dict[str, Any], case: dict[str, Any]) -> dict[str, Any]:
    profile = {**base, **(case.get("profile") or {})}
    for fact in case.get("unset") or []:
        profile.pop(fact, None)
    return {**case, "profile": profile}


def _differences(got: Any, expected: Any, path: str = "") -> list[str]:
    """What differs between ``got`` and the expected (partial) structure."""
    if isinstance(expected, dict) and isinstance(got, dict):
        out = []
        for key, value in expected.items():
            out += _differences(got.get(key), value, f"{path}.{key}" if path else key)
        return out
    if got != expected:
        return [f"{path} was {got!r}, expected {expected!r}"]
    return []


class CaseMismatch(Exception):
    """A YAML case whose answer differs from the expected one."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class CaseFile(pytest.File):
    def collect(self) -> Iterator[CaseItem]:
        data = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        base = data.get("base") or {}
        for index, case in enumerate(data.get("cases") or []):
            name = case.get("name") or f"case {index + 1}"
            yield CaseItem.from_parent(self, name=name, case=_profile(base, case))


class CaseItem(pytest.Item):
    def __init__(self, *, case: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        case = self.case
        result = policy_kb.default_kb().evaluate(case["profile"], year=case.get("year"))
        problems: list[str] = []
        for id_, expected in (case.get("expect") or {}).items():
            got = result.status(id_).value
            if got != expected:
                kind = "benefit" if "." in id_ else "measure"
                why = (
                    result.benefit(id_).missing
                    if kind == "benefit"
                    else result.measure(id_).missing
                )
                extra = f" (missing: {', '.join(why)})" if why else ""
                problems.append(f"{kind} {id_} was {got}, expected {expected}{extra}")
        if case.get("precheck") is not None:
            block = result.to_dict()["tech_sme_precheck"]
            problems += [f"pre-check {line}" for line in _differences(block, case["precheck"])]
        for id_, expected in (case.get("estimates") or {}).items():
            got_amount = result.estimate(id_).amount
            shown = (
                None
                if got_amount is None
                else (int(got_amount) if got_amount == int(got_amount) else float(got_amount))
            )
            if shown != expected:
                problems.append(f"estimate of {id_} was {shown}, expected {expected}")
        if case.get("estimate_totals") is not None:
            got_totals = result.to_dict()["estimates"]["total_by_kind"]
            if got_totals != case["estimate_totals"]:
                problems.append(
                    f"estimated totals were {got_totals}, expected {case['estimate_totals']}"
                )
        for id_, expected in (case.get("missing") or {}).items():
            got_missing = list(
                result.benefit(id_).missing if "." in id_ else result.measure(id_).missing
            )
            if got_missing != list(expected):
                problems.append(
                    f"missing facts of {id_} were {got_missing}, expected {list(expected)}"
                )
        for id_, expected in (case.get("estimate_missing") or {}).items():
            got_missing = list(result.estimate(id_).missing)
            if got_missing != list(expected):
                problems.append(
                    f"the estimate of {id_} is missing {got_missing}, expected {list(expected)}"
                )
        if problems:
            raise CaseMismatch(problems)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, CaseMismatch):
            prefix = f"{self.path.name}: {self.name.rstrip('.')}: "
            return "\n".join(prefix + line for line in excinfo.value.lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"{self.path.name}: {self.name}"


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> CaseFile | None:
    if file_path.suffix == ".yaml" and file_path.parent == CASES:
        return CaseFile.from_parent(parent, path=file_path)
    return None
