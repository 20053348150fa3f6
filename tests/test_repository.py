"""Contracts of the repository itself: Quick start, CI, the source text, figures, safe loading."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from conftest import SHARED_SOURCE, load_cases

import policy_kb
from policy_kb.rules.tree import Comparison, FactRef, ParamRef
from policy_kb.rules.walk import walk

ROOT = Path(__file__).resolve().parent.parent
BENEFITS = [
    "KM1.evaluation_mobilization",
    "KM2.hnte_priority",
    "KM2.first_above_scale_reward",
    "KM3.st_project_priority",
    "KM4.incubation_services",
    "KM5.hnte_income_tax",
    "KM5.tech_transfer_tax",
    "KM5.small_low_profit_tax",
    "KM6.tech_credit",
    "KM7.rd_super_deduction",
    "KM7.rd_growth_reward",
    "KM8.rd_platform_support",
    "KM9.shared_facilities",
]


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    title, rest = text.split("\n", 1)
    assert title.startswith("# policy_kb"), "README.md must open with its title"
    paragraph, rest = rest.strip("\n").split("\n\n", 1)
    assert paragraph, "then one paragraph saying what it is"
    assert not paragraph.startswith("#"), "then one paragraph saying what it is"
    assert rest.startswith("## Quick start\n"), "then the '## Quick start' section"
    block = re.search(r"```(?:bash|sh)?\n(.*?)```", rest, re.S)
    assert block is not None
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_quick_start_has_exactly_two_commands_and_ci_runs_the_second():
    commands = quick_start_commands()
    assert len(commands) == 2
    assert "policy-kb match examples/" in commands[0]
    assert "pytest" in commands[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci


def test_source_text_is_the_shared_original():
    copy = (ROOT / "sources" / "000_6cc745b56c039c16.txt").read_bytes()
    if not SHARED_SOURCE.exists():
        pytest.skip("the shared original is not present beside this checkout")
    assert copy == SHARED_SOURCE.read_bytes()


def test_no_figure_of_the_text_is_a_literal_in_the_code():
    figures = {175, 200_000, 500, 670, 300, 3_000_000, 50_000_000, 200_000_000, 2021, 25, 15}
    tuning = {"BATCH", "BATCH_ROWS"}  # engine settings, not figures of the policy
    found = []
    for path in sorted((ROOT / "policy_kb").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        exempt = {
            id(node.value)
            for node in tree.body
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id in tuning for t in node.targets)
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and type(node.value) in (int, float)
                and node.value in figures
                and id(node) not in exempt
            ):
                found.append(f"{path.name}:{node.lineno}: {node.value}")
    assert found == []


def test_nothing_is_evaluated_or_loaded_unsafely():
    pattern = re.compile(
        r"(^|[^_a-zA-Z.])(eval|exec)\(|yaml\.load\(|yaml\.unsafe_load|FullLoader|compile\("
    )
    hits = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted((ROOT / "policy_kb").rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.search(line) and "re.compile" not in line
    ]
    assert hits == []


def test_examples_are_valid_profiles(kb):
    examples = sorted((ROOT / "examples").glob("*.yaml"))
    assert len(examples) >= 5
    for path in examples:
        kb.validate_profile(policy_kb.read_profile(str(path)))


def test_every_benefit_is_covered_in_all_three_statuses():
    seen: dict[str, set[str]] = {b: set() for b in BENEFITS}
    for _path, case in load_cases():
        for id_, status in (case.get("expect") or {}).items():
            if id_ in seen:
                seen[id_].add(status)
    incomplete = {
        b: sorted(s) for b, s in seen.items() if s != {"applies", "does_not_apply", "undetermined"}
    }
    assert incomplete == {}


def test_every_threshold_is_tested_at_below_and_above_its_bound(kb):
    """For each comparison with a threshold, the case files hold values at, just below and just above it."""
    model = kb.model
    params = {name: pv.value for name, pv in kb.parameters_for_year(model.document.year).items()}
    values: dict[str, set[float]] = {}
    for _path, case in load_cases():
        profile = case["profile"]
        derived = {}
        rd, prior = profile.get("rd_expense"), profile.get("rd_expense_prior_year")
        if rd is not None and prior is not None:
            derived["rd_expense_growth"] = rd - prior
        for fact, value in {**profile, **derived}.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values.setdefault(fact, set()).add(value)
    categories = {name: c.condition for name, c in model.categories.items()}
    conditions = [c.condition for c in model.categories.values()] + [
        b.condition for b in model.benefits.values()
    ]
    missing = []
    for cond in conditions:
        for comparison in (n for n in walk(cond, categories) if isinstance(n, Comparison)):
            if not isinstance(comparison.left, FactRef):
                continue
            right = comparison.right
            bound = params[right.name] if isinstance(right, ParamRef) else right.literal
            fact = comparison.left.name
            minimum = model.facts[fact].minimum if fact in model.facts else None
            wanted = {bound, bound + 1} | (
                {bound - 1} if minimum is None or bound - 1 >= minimum else set()
            )
            if not wanted <= values.get(fact, set()):
                missing.append(f"{comparison.text}: {sorted(wanted - values.get(fact, set()))}")
    assert missing == []
