"""The OWL layer: the linter on planted defects, the reference engine, Java, the written TBox.

These tests need a Java runtime (.ci/run installs Debian's default-jre-headless when it is absent);
they fail, rather than skip, without one.
"""

from __future__ import annotations

import json
import os
import random
import re
from pathlib import Path

import pytest
from conftest import load_cases
from rdflib import Graph
from rdflib.compare import isomorphic

import policy_kb
from policy_kb.backends.owl import classify, find_java

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = (ROOT / "measures.yaml").read_text(encoding="utf-8")
TBOX = ROOT / "ontology" / "wujin-tech-sme-2021-eligibility.nt"


@pytest.fixture(scope="module", autouse=True)
def java() -> str:
    found = find_java()
    assert found, "the OWL tests need Java: install default-jre-headless (.ci/run does it in CI)"
    return found


def plant(tmp_path: Path, *edits: tuple[str, str]) -> tuple[Path, str]:
    text = SHIPPED
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "measures.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def line_of(text: str, needle: str, nth: int = 0) -> int:
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    return text.count("\n", 0, index) + 1


def test_lint_passes_on_the_shipped_policy_and_prints_the_subsumptions(cli):
    result = cli("lint")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "HermiT 推理机已核查（参数取2021年值）：13 项待遇、3 个类别、4 条声明的蕴含关系" in out
    assert "✔ 无矛盾" in out
    assert "KM2.first_above_scale_reward（首次上规地方贡献增量奖励，第 " in out
    assert "有效期内高新技术企业；因此也享受 KM5.hnte_income_tax、KM6.tech_credit" in out
    data = json.loads(cli("lint", "--format", "json").stdout)
    assert data["ok"] is True
    assert data["findings"] == []
    implied = {i["benefit"]: i for i in data["implications"]}
    # the reasoner finds which benefits imply tech_sme_registered
    needs_registration = sorted(
        b for b, i in implied.items() if "tech_sme_registered" in i["facts"]
    )
    assert needs_registration == [
        "KM2.hnte_priority",
        "KM3.st_project_priority",
        "KM7.rd_super_deduction",
        "KM8.rd_platform_support",
        "KM9.shared_facilities",
    ]
    assert implied["KM5.hnte_income_tax"]["benefits"] == ["KM6.tech_credit"]


def test_lint_finds_an_impossible_condition(cli, tmp_path):
    path, text = plant(
        tmp_path,
        (
            "        conditions:\n          - incubated\n",
            "        conditions:\n          - incubated\n          - employees <= slp_max_employees\n          - employees >= sme_max_employees\n",
        ),
    )
    result = cli("lint", str(path), "--lang", "en")
    assert result.returncode == 2
    line = line_of(text, "          - incubated\n          - employees <= slp_max_employees")
    assert (
        f"{path}:{line}:11: error: no enterprise could ever get benefit KM4.incubation_services: its conditions "
        f"contradict each other (incubated at line {line}; employees <= slp_max_employees at line {line + 1}; employees >= sme_max_employees at "
        f"line {line + 2}) (conditions that some enterprise can meet all at once)"
    ) in result.stderr.splitlines()
    assert "✘ 1 error(s), listed below" in result.stdout
    chinese = cli("lint", str(path))
    assert (
        f"{path}:{line}:11: 错误：没有企业能获得待遇 KM4.incubation_services：其条件互相矛盾（incubated（第 {line} 行）；"
        f"employees <= slp_max_employees（第 {line + 1} 行）；employees >= sme_max_employees（第 {line + 2} 行））（能被某个企业同时满足的条件）"
    ) in chinese.stderr.splitlines()
    assert "✘ 发现 1 个错误" in chinese.stdout


def test_lint_finds_an_impossible_category_and_what_depends_on_it(kb, tmp_path):
    path, text = plant(
        tmp_path,
        (
            "      - total_assets <= sme_max_assets\n",
            "      - total_assets <= sme_max_assets\n      - total_assets > sme_max_revenue\n",
        ),
    )
    report = policy_kb.load(path).lint()
    messages = [(f.location.line, f.message.render("en").split(":")[0]) for f in report.errors]
    assert (
        line_of(text, "      - employees <= sme_max_employees"),
        "no enterprise could ever belong to category sme_size",
    ) in messages
    assert any(
        m.startswith("no enterprise could ever get benefit KM1.evaluation_mobilization")
        for _, m in messages
    )


def test_lint_finds_two_benefits_whose_eligible_and_ineligible_classes_overlap(cli, tmp_path):
    path, text = plant(
        tmp_path,
        (
            "        not_combinable_with: [KM5.small_low_profit_tax]",
            "        implies: [KM4.incubation_services]\n        not_combinable_with: [KM5.small_low_profit_tax]",
        ),
        (
            "        implies: [KM3.st_project_priority, KM6.tech_credit]",
            "        implies: [KM3.st_project_priority, KM6.tech_credit, KM5.small_low_profit_tax]",
        ),
    )
    result = cli("lint", str(path), "--lang", "en")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert errors == [
        f"{path}:{line_of(text, '      - id: KM5.hnte_income_tax')}:9: error: KM5.hnte_income_tax is declared to imply "
        "KM4.incubation_services, but an enterprise could get KM5.hnte_income_tax and be refused KM4.incubation_services "
        "(conditions of KM5.hnte_income_tax that include those of KM4.incubation_services)",
        f"{path}:{line_of(text, '      - id: KM7.rd_super_deduction')}:9: error: KM7.rd_super_deduction is declared to "
        "imply KM5.small_low_profit_tax, but an enterprise could get KM7.rd_super_deduction and be refused "
        "KM5.small_low_profit_tax (conditions of KM7.rd_super_deduction that include those of KM5.small_low_profit_tax)",
    ]


def test_lint_reports_a_wrong_target_total_with_its_line(cli, tmp_path):
    path, text = plant(tmp_path, ("  total: 670", "  total: 680"))
    result = cli("lint", str(path), "--lang", "en")
    assert result.returncode == 2
    assert (
        f"{path}:{line_of(text, '  total: 680')}:10: the 11 rows of 附件2 add up to 670, but the printed total is 680"
        in result.stderr
    )


def test_lint_refuses_a_condition_the_reasoner_cannot_read(cli, tmp_path):
    path, text = plant(
        tmp_path,
        (
            "        conditions:\n          - incubated\n",
            "        conditions:\n          - incubated\n          - tech_staff <= employees\n",
        ),
    )
    result = cli("lint", str(path), "--lang", "en")
    assert result.returncode == 2
    line = line_of(text, "          - tech_staff <= employees")
    assert (
        f"{path}:{line}:13: error: the reasoner cannot read 'tech_staff <= employees': it compares two facts; "
        "declare a derived fact (such as their difference) (a condition on one fact against a number or parameter)"
    ) in result.stderr


def statuses(data: dict) -> dict[str, str]:
    found = {m["id"]: m["status"] for m in data["measures"]}
    found.update({b["id"]: b["status"] for m in data["measures"] for b in m["benefits"]})
    return found


def test_owl_engine_gives_the_same_json_statuses_for_the_examples(cli):
    for path in sorted((ROOT / "examples").glob("*.yaml")):
        fast = json.loads(cli("match", str(path), "--format", "json").stdout)
        owl = cli("match", str(path), "--format", "json", "--engine", "owl")
        assert owl.returncode == 0, owl.stderr
        owl_data = json.loads(owl.stdout)
        assert owl_data["engine"] == "owl"
        assert statuses(owl_data) == statuses(fast), path.name


def _around(values: list[float], rng: random.Random) -> float:
    value = rng.choice(values)
    return value + rng.choice([-1, 0, 0, 1])


def generated_profiles(kb, count: int, seed: int) -> list[dict]:
    """Profiles with facts randomly missing and values around every threshold of the policy."""
    rng = random.Random(seed)
    params = {
        name: pv.value for name, pv in kb.parameters_for_year(2021).items() if pv.value is not None
    }
    bounds = {
        "employees": [params["sme_max_employees"], params["slp_max_employees"], 50],
        "annual_revenue": [params["sme_max_revenue"], 20_000_000],
        "total_assets": [params["sme_max_assets"], params["slp_max_assets"]],
        "taxable_income": [params["slp_max_taxable_income"], 0, -1],
        "rd_expense": [0, 1, 1_000_000 + params["rd_growth_reward_min_increase"]],
        "rd_expense_prior_year": [1_000_000],
        "tech_transfer_income": [0, 1],
    }
    flags = [f.id for f in kb.model.facts.values() if f.type.value == "bool"]
    profiles = []
    for _ in range(count):
        profile: dict = {}
        for fact in flags:
            if rng.random() < 0.75:
                profile[fact] = rng.random() < 0.5
        for fact, values in bounds.items():
            if rng.random() < 0.75:
                value = (
                    max(_around(values, rng), 0)
                    if fact != "taxable_income"
                    else _around(values, rng)
                )
                profile[fact] = value + (
                    0.5 if fact == "annual_revenue" and rng.random() < 0.1 else 0
                )
        profiles.append(profile)
    return profiles


def test_differential_owl_and_fast_engines_agree(kb):
    """Every YAML case and 300 generated profiles, through both engines; any disagreement fails."""
    cases = [
        (f"{path.name}: {case['name']}", case["profile"], case.get("year"))
        for path, case in load_cases()
    ]
    generated = [
        (f"generated #{i}", p, None) for i, p in enumerate(generated_profiles(kb, 300, seed=20211))
    ]
    everything = cases + generated
    disagreements = []
    words = {True: "applies", False: "does_not_apply", None: "undetermined"}
    for year in sorted({y for _, _, y in everything}, key=lambda y: y or 0):
        batch = [(name, p) for name, p, y in everything if y == year]
        fast = kb.evaluate_many([p for _, p in batch], year=year)
        when = year or kb.model.document.year
        owl = classify(kb.plan, [e.profile for e in fast], when, kb.parameters_for_year(when))
        for (name, profile), decided, b in zip(batch, owl, fast, strict=True):
            for benefit in b.benefits:
                if decided[benefit.id] is not benefit.status:
                    disagreements.append(
                        f"{name}: {benefit.id}: owl {decided[benefit.id].value}, fast {benefit.status.value}: {profile}"
                    )
            # the tech-SME pre-check is compiled from the same rule tree and classified too
            if decided["tech_sme_precheck"].value != words[b.precheck.qualifies]:
                disagreements.append(
                    f"{name}: pre-check: owl {decided['tech_sme_precheck'].value}, fast {b.precheck.qualifies}: {profile}"
                )
    assert disagreements == []


def test_without_java_lint_and_owl_engine_exit_1_with_the_install_hint_and_the_rest_works(
    cli, tmp_path
):
    """A missing Java runtime is the machine's problem, not bad input: exit 1, and how to install it."""
    env_path = os.environ.get("PATH")
    try:
        os.environ["PATH"] = str(tmp_path)  # an empty directory: no java on PATH
        saved_home = os.environ.pop("JAVA_HOME", None)
        lint = cli("lint")
        owl = cli("match", "examples/half_unknown.yaml", "--engine", "owl")
        fast = cli("match", "examples/half_unknown.yaml")
        export = cli("export", "--format", "owl")
    finally:
        os.environ["PATH"] = env_path or ""
        if saved_home is not None:
            os.environ["JAVA_HOME"] = saved_home
    hint = "sudo apt-get install default-jre-headless"
    assert lint.returncode == 1
    assert hint in lint.stderr
    assert "需要 Java 运行环境" in lint.stderr
    assert "Traceback" not in lint.stderr
    assert owl.returncode == 1
    assert hint in owl.stderr
    assert fast.returncode == 0
    assert export.returncode == 0  # compiling the classes needs no Java; reasoning does


def test_written_tbox_is_current_and_loads(kb):
    fresh = Graph().parse(data=kb.export("owl"), format="nt")
    committed = Graph().parse(TBOX, format="nt")
    assert isomorphic(fresh, committed), (
        "run `policy-kb export --format owl -o ontology/wujin-tech-sme-2021-eligibility.nt`"
    )
    import owlready2

    world = owlready2.World()
    onto = world.get_ontology(TBOX.as_uri()).load()
    names = {c.name for c in onto.classes()}
    assert {
        "Eligible_KM7.rd_growth_reward",
        "Ineligible_KM7.rd_growth_reward",
        "Category_sme_size",
    } <= names
    world.close()


def test_unknown_engine_is_named(kb):
    with pytest.raises(policy_kb.UnknownNameError) as raised:
        kb.evaluate({}, engine="owls")
    assert re.search("unknown engine 'owls'", raised.value.render("en")), raised.value.render("en")


def test_lint_proves_no_shipped_estimate_can_be_negative(kb):
    from policy_kb.reason.evaluate import parameters_for_year
    from policy_kb.rules.signs import fact_ranges, least_value

    model = kb.model
    params = {n: pv.value for n, pv in parameters_for_year(model, 2021).items()}
    facts = model.facts.values()
    ranges = fact_ranges({f.id: f.minimum for f in facts}, {f.id: f.maximum for f in facts})
    derived = {d.id: d.formula for d in model.derived.values()}
    least = {
        b.id: least_value(c.formula, params, ranges, derived)
        for b in model.benefits.values()
        for c in (b.estimate.cases if b.estimate else ())
    }
    assert len(least) == 5
    assert all(found is not None and found.proved and found.least == 0 for found in least.values())
    # the small low-profit relief: 25 % of the income less the reduced tax — correlated terms that
    # interval arithmetic alone would call negative; its least value is 0, at a loss
    assert least["KM5.small_low_profit_tax"].at["taxable_income"] < 0
    assert not [f for f in kb.lint().findings if "negative" in f.message.render("en")]


def test_lint_finds_an_estimate_that_can_be_negative(cli, tmp_path):
    path, text = plant(
        tmp_path,
        (
            "formula: rd_expense * (rd_super_deduction_rate - 1)",
            "formula: rd_expense * (1 - rd_super_deduction_rate)",
        ),
    )
    report = policy_kb.load(path).lint()
    (finding,) = [f for f in report.errors if "negative" in f.message.render("en")]
    formula_line = line_of(text, "formula: rd_expense * (1 - rd_super_deduction_rate)")
    assert finding.location.line == formula_line - 1  # the estimate, whose formula follows
    assert finding.message.render("en") == (
        "the estimate of benefit KM7.rd_super_deduction can be negative: "
        "rd_expense * (1 - rd_super_deduction_rate) is -750,000,000,000,000.00 元 "
        "when rd_expense = 1,000,000,000,000,000"
    )
    run = cli("lint", str(path))
    assert run.returncode != 0
    assert "待遇 KM7.rd_super_deduction 的估算可能为负" in run.stderr


def test_lint_finds_an_estimate_case_no_enterprise_reaches_and_a_gap_between_cases(cli, tmp_path):
    # the second case repeats the first's condition: the first takes every enterprise it covers,
    # and an enterprise without a valid HNTE certificate now meets no case at all
    path, text = plant(
        tmp_path, ("            - when: not hnte_valid", "            - when: hnte_valid")
    )
    result = cli("lint", str(path), "--lang", "en")
    assert result.returncode == 2
    estimate = line_of(text, "          kind: tax_saving\n          note_zh: 以技术开发")
    second = line_of(text, "            - when: hnte_valid", 1)
    assert (
        f"{path}:{second}:15: error: case 2 of the estimate of benefit KM5.tech_transfer_tax is "
        "never used: its when condition cannot hold, or the cases before it take every enterprise "
        "that meets it (every case reachable: the cases are tried in order and the first whose "
        "when holds is used, so a narrower case goes before a wider one)"
    ) in result.stderr.splitlines()
    assert (
        f"{path}:{estimate}:11: warning: the estimate of benefit KM5.tech_transfer_tax has a gap: "
        "an enterprise could get the benefit and meet no case's when condition, so it would get "
        "no amount (when conditions that together cover every enterprise that gets the benefit "
        "(when: hnte_valid, then when: not hnte_valid))"
    ) in result.stderr.splitlines()
    chinese = cli("lint", str(path))
    assert (
        f"{path}:{second}:15: 错误：待遇 KM5.tech_transfer_tax 估算的第 2 种情形永远用不上"
    ) in chinese.stderr


def test_lint_warns_of_a_gap_between_estimate_cases_without_an_error(cli, tmp_path):
    path, text = plant(
        tmp_path, ("            - when: not hnte_valid", "            - when: incubated")
    )
    result = cli("lint", str(path))
    assert result.returncode == 0  # a warning: the benefit is still decided, its amount is not
    estimate = line_of(text, "          kind: tax_saving\n          note_zh: 以技术开发")
    assert (
        f"{path}:{estimate}:11: 提示：待遇 KM5.tech_transfer_tax 的估算有缺口：企业可能获得该待遇，"
        "却不满足任何一种情形的 when 条件，这样的企业得不到估算金额（各情形的 when 合起来覆盖每个"
        "获得该待遇的企业（如先 when: hnte_valid，再 when: not hnte_valid））"
    ) in result.stderr.splitlines()
    assert "✔ 无错误，有提示（见下方）" in result.stdout
    assert "永远用不上" not in result.stderr
