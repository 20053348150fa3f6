"""measures.yaml validation: each mistake a policy officer can make, planted in a copy.

Every expected message is written out in full, with the file:line:column it must point at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import policy_kb
from policy_kb import MeasuresFileError

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = (ROOT / "measures.yaml").read_text(encoding="utf-8")


def plant(tmp_path: Path, *edits: tuple[str, str]) -> tuple[Path, str]:
    """A copy of measures.yaml with each ``(old, new)`` edit made exactly once."""
    text = SHIPPED
    for old, new in edits:
        assert text.count(old) == 1, f"the edit target occurs {text.count(old)} times: {old!r}"
        text = text.replace(old, new)
    path = tmp_path / "measures.yaml"
    path.write_text(text, encoding="utf-8")
    return path, text


def at(path: Path, text: str, needle: str, *, offset: int = 0, nth: int = 0) -> str:
    """``file:line:col`` of the ``nth`` occurrence of ``needle`` (plus ``offset`` columns)."""
    index = -1
    for _ in range(nth + 1):
        index = text.index(needle, index + 1)
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1 + offset
    return f"{path}:{line}:{column}"


def problems_of(path: Path) -> list[str]:
    with pytest.raises(MeasuresFileError) as info:
        policy_kb.load(path)
    return [p.render("en") for p in info.value.problems]


def test_the_shipped_file_is_valid(kb):
    assert [m.id for m in kb.measures] == [f"KM{i}" for i in range(1, 10)] + ["SM1", "SM2", "SM3"]
    assert len(kb.model.benefits) == 13


def test_yaml_syntax_error(tmp_path):
    path, text = plant(
        tmp_path,
        ("  title_en: Wujin District Implementation", "  title_en: Wujin: District Implementation"),
    )
    assert problems_of(path) == [
        f"{at(path, text, 'Wujin: District', offset=5)}: YAML syntax error: a 'key: value' is not "
        "allowed here (check the indentation, and put a text that contains ': ' in quotes)"
    ]


def test_tab_indentation_is_explained(tmp_path):
    path, _ = plant(tmp_path, ("    label_zh: 企业名称\n", "\tlabel_zh: 企业名称\n"))
    (problem,) = problems_of(path)
    assert "YAML syntax error" in problem
    assert "(indent with spaces, not tabs)" in problem


def test_duplicate_key(tmp_path):
    line = "    title_zh: 加强入库评价工作组织发动\n"
    path, text = plant(tmp_path, (line, line + line))
    first = at(path, text, "title_zh: 加强入库评价").split(":")[1]
    assert problems_of(path) == [
        f"{at(path, text, 'title_zh: 加强入库评价', nth=1)}: duplicate key 'title_zh' (each key once; first given at line {first})"
    ]


def test_unknown_key_with_did_you_mean(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "    title_zh: 引导科技型中小企业创新研发\n",
            "    titel_zh: 引导科技型中小企业创新研发\n",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, 'titel_zh')}: unknown key 'titel_zh' in measure KM3 (did you mean 'title_zh' or "
        "'title_en'? Known keys: id, number, title_zh, title_en, audience, text, targets, reading_zh, "
        "reading_en, benefits)"
    ]


def test_missing_required_field(tmp_path):
    path, text = plant(
        tmp_path, ("    audience: district_government\n    text: 牢固树立", "    text: 牢固树立")
    )
    assert problems_of(path) == [
        f"{at(path, text, 'id: SM1')}: missing required field 'audience' in measure SM1 (add 'audience:' — "
        "面向对象：enterprises 企业 / towns_and_zones 各镇、开发区 / district_government 区政府 / "
        "service_providers 服务机构)"
    ]


def test_wrong_enum_value_suggests(tmp_path):
    path, text = plant(
        tmp_path, ("    audience: towns_and_zones\n", "    audience: town_and_zones\n")
    )
    (problem,) = problems_of(path)
    assert problem.startswith(
        f"{at(path, text, 'town_and_zones')}: 'audience' in measure SM2 is 'town_and_zones' (did you mean 'towns_and_zones'?"
    )


def test_duplicate_measure_id(tmp_path):
    path, text = plant(tmp_path, ("  - id: KM9\n", "  - id: KM8\n"))
    problems = problems_of(path)
    needle = "  - id: KM8\n"
    first_line = at(path, text, needle).split(":")[1]
    assert (
        f"{at(path, text, needle, nth=1, offset=8)}: measure id 'KM8' is used twice (each measure once; first at line {first_line})"
        in problems
    )


def test_duplicate_benefit_id(tmp_path):
    path, text = plant(
        tmp_path, ("      - id: KM8.rd_platform_support\n", "      - id: KM3.st_project_priority\n")
    )
    first_line = at(path, text, "id: KM3.st_project_priority").split(":")[1]
    where = at(path, text, "- id: KM3.st_project_priority", nth=1, offset=6)
    assert (
        f"{where}: benefit id 'KM3.st_project_priority' is used twice (each benefit once; first at line {first_line})"
        in problems_of(path)
    )


def test_unknown_fact_in_condition(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "          - rd_deduction_claimed               #",
            "          - rd_deducton_claimed               #",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, 'rd_deducton_claimed')}: unknown name 'rd_deducton_claimed' in condition "
        "'rd_deducton_claimed' (did you mean 'rd_deduction_claimed' or 'rd_deduction_claimed_prior_year'?)"
    ]


def test_unknown_category_in_condition(tmp_path):
    path, text = plant(
        tmp_path, ("          - small_low_profit\n", "          - small_low_proft\n")
    )
    assert problems_of(path) == [
        f"{at(path, text, 'small_low_proft')}: unknown name 'small_low_proft' in condition 'small_low_proft' "
        "(did you mean 'small_low_profit'?)"
    ]


def test_type_clash(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "          - hnte_valid\n          - first_time_above_scale\n",
            "          - hnte_valid >= 3\n          - first_time_above_scale\n",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, 'hnte_valid >= 3')}: type clash in 'hnte_valid >= 3': 'hnte_valid' is a yes/no fact "
        "and cannot be compared with '>= 3' (write 'hnte_valid' or 'not hnte_valid')"
    ]


def test_condition_that_does_not_parse(tmp_path):
    path, text = plant(
        tmp_path, ("          - tech_transfer_income > 0\n", "          - tech_transfer_income >\n")
    )
    assert problems_of(path) == [
        f"{at(path, text, 'tech_transfer_income >')}: cannot read the condition 'tech_transfer_income >': "
        "invalid syntax (a comparison such as 'employees <= sme_max_employees', or a yes/no fact)"
    ]


def test_quote_not_verbatim_points_at_the_difference(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "        quote: 促进科研仪器、实验设施等向科技型中小企业开放共享。",
            "        quote: 促进科研仪器、实验设施等向科技型中小企业开放、共享。",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, '、共享')}: the quote of measure KM9 › benefit KM9.shared_facilities does not occur "
        "verbatim in the source text: it matches up to character 23, where the file has '、共享。' and the "
        "source has '共享。' (copy the words exactly, with the same punctuation)"
    ]


def test_quote_from_another_clause(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "        quote: 促进科研仪器、实验设施等向科技型中小企业开放共享。",
            "        quote: 提升众创空间和科技企业孵化器服务水平，支撑科技型中小企业培育孵化。",
        ),
    )
    where = at(path, text, "提升众创空间和科技企业孵化器服务水平，支撑", nth=2)
    assert problems_of(path) == [
        f"{where}: the quote of measure KM9 › benefit KM9.shared_facilities occurs in the source text but not "
        "in the clause text of KM9 (quote a sentence of the clause text of KM9)"
    ]


def test_clause_text_paraphrased(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "    text: 鼓励科技型中小企业制定企业科技创新战略",
            "    text: 鼓励科技型中小企业制订企业科技创新战略",
        ),
    )
    (problem,) = problems_of(path)
    assert problem.startswith(
        f"{at(path, text, '订企业')}: the clause text of measure KM8 does not occur verbatim"
    )
    assert (
        "it matches up to character 11, where the file has '订企业科技创新战' and the source has '定企业科技创新战'"
        in problem
    )


def test_target_total_differs_from_rows(tmp_path):
    path, text = plant(tmp_path, ("  total: 670", "  total: 680"))
    where = at(path, text, "680")
    assert problems_of(path) == [
        f"{where}: the 11 rows of 附件2 add up to 670, but the printed total is 680 (total: 670, or correct the row that differs from the source text)",
        f"{where}: the total 680 does not occur in the source text (the total as printed)",
    ]


def test_target_row_differs_from_the_source(tmp_path):
    path, text = plant(tmp_path, ("target: 100}", "target: 90}"))
    problems = problems_of(path)
    assert (
        f"{at(path, text, 'target: 90', offset=8)}: the target of 西太湖 is 90, but the source text prints 100 (target: 100)"
        in problems
    )


def test_parameter_with_overlapping_dates(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "      - from: 2022-01-01\n        value: 200\n",
            "      - from: 2022-01-01\n        until: 2023-06-30\n        value: 200\n",
        ),
    )
    earlier_line = at(path, text, "- from: 2022-01-01").split(":")[1]
    assert problems_of(path) == [
        f"{at(path, text, 'from: 2023-01-01')}: the value of parameter rd_super_deduction_rate from 2023-01-01 "
        f"overlaps the value from 2022-01-01 until 2023-06-30 (line {earlier_line}) (dated values that do not "
        "overlap: end the earlier one before the later one starts)"
    ]


def test_parameter_with_impossible_date(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "      - from: 2021-01-01\n        value: 200000  ",
            "      - from: 2021-02-30\n        value: 200000  ",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, '2021-02-30')}: 'from' is '2021-02-30', which is not a date (a real date written YYYY-MM-DD)"
    ]


def test_measure_number_must_match_its_id(tmp_path):
    path, text = plant(tmp_path, ("    number: 三(七)\n", "    number: 三(八)\n"))
    assert (
        f"{at(path, text, '三(八)')}: measure KM7 is numbered '三(八)' (KM7 is printed as '三(七)')"
        in problems_of(path)
    )


def test_unknown_parameter_in_condition(tmp_path):
    path, text = plant(
        tmp_path,
        ("      - employees <= sme_max_employees\n", "      - employees <= sme_max_employes\n"),
    )
    assert problems_of(path) == [
        f"{at(path, text, 'sme_max_employes')}: unknown name 'sme_max_employes' in condition "
        "'employees <= sme_max_employes' (did you mean 'sme_max_employees' or 'slp_max_employees'?)"
    ]


def test_category_cycle(tmp_path):
    path, _ = plant(
        tmp_path,
        (
            "      - tech_sme_registered\n  small_low_profit:",
            "      - small_low_profit\n  small_low_profit:",
        ),
        (
            "      - not restricted_industry\n\n",
            "      - not restricted_industry\n      - registered_tech_sme\n\n",
        ),
    )
    problems = problems_of(path)
    assert any(
        "categories refer to each other in a circle: registered_tech_sme → small_low_profit → registered_tech_sme"
        in p
        for p in problems
    )


def test_all_problems_are_reported_in_one_run(tmp_path, cli):
    path, _ = plant(
        tmp_path,
        (
            "    title_zh: 引导科技型中小企业创新研发\n",
            "    titel_zh: 引导科技型中小企业创新研发\n",
        ),
        ("          - small_low_profit\n", "          - small_low_proft\n"),
        (
            "          - hnte_valid\n          - first_time_above_scale\n",
            "          - hnte_valid >= 3\n          - first_time_above_scale\n",
        ),
        ("  total: 670", "  total: 680"),
        (
            "        quote: 促进科研仪器、实验设施等向科技型中小企业开放共享。",
            "        quote: 促进科研仪器、实验设施等向科技型中小企业开放、共享。",
        ),
        ("  - id: KM9\n", "  - id: KM8\n"),
    )
    english = cli("validate", str(path), "--lang", "en")
    chinese = cli("validate", str(path))
    assert english.returncode == chinese.returncode == 2
    for result, last, fragments in (
        (
            english,
            "problems found; nothing was loaded.",
            (
                "unknown key 'titel_zh' in measure KM3",
                "unknown name 'small_low_proft'",
                "type clash in 'hnte_valid >= 3'",
                "printed total is 680",
                "does not occur verbatim",
                "measure id 'KM8' is used twice",
            ),
        ),
        (
            chinese,
            "处问题，文件未被加载。",
            (
                "措施 KM3 中有未知的键 'titel_zh'（是否应为 'title_zh' 或 'title_en'？可用的键：id、number、",
                "条件 'small_low_proft' 中有未知的名称 'small_low_proft'（是否应为 'small_low_profit'？）",
                "'hnte_valid >= 3' 类型冲突：'hnte_valid' 是一个是/否事实",
                "但印刷的合计是 680",
                "与原文不一致",
                "措施编号 'KM8' 重复使用",
            ),
        ),
    ):
        lines = result.stderr.strip().splitlines()
        assert lines[-1].endswith(last)
        text = result.stderr
        for fragment in fragments:
            assert fragment in text
        # sorted by position, each starting with file:line:col
        positions = [tuple(int(x) for x in line.split(":")[1:3]) for line in lines[:-1]]
        assert positions == sorted(positions)
        assert all(line.startswith(str(path) + ":") for line in lines[:-1])
    assert "Traceback" not in text


def test_a_bad_file_is_never_half_loaded(tmp_path):
    path, _ = plant(tmp_path, ("  total: 670", "  total: 680"))
    with pytest.raises(MeasuresFileError) as info:
        policy_kb.load(path)
    assert info.value.file == str(path)
    assert not hasattr(info.value, "model")


def test_yaml_bomb_is_refused(tmp_path):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    aliases = [p for p in problems_of(path) if "alias" in p]
    assert (
        aliases[0]
        == f"{path}:2:8: YAML alias '*a' is not allowed (write the value out, or define a category and refer to it by name)"
    )
    assert len(aliases) == 5
    assert aliases[-1].endswith(
        "is not allowed (further aliases are not listed) (write the value out, or define a category and refer to it by name)"
    )


def test_deep_nesting_is_refused(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("a: 1\nx: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    (problem,) = problems_of(path)
    # named where the 41st bracket opens (it was 1:1)
    assert problem == f"{path}:2:44: the YAML is nested too deeply (at most 40 levels)"


def test_absurdly_large_file_is_refused(tmp_path):
    path = tmp_path / "huge.yaml"
    with path.open("w", encoding="utf-8") as fh:
        fh.write("# " + "x" * 100 + "\n")
        fh.truncate(5_000_000)
    (problem,) = problems_of(path)
    assert (
        problem
        == f"{path}:1:1: the file is 5,000,000 bytes, too large to be read (at most 2,000,000 bytes)"
    )


def test_not_utf8_is_refused(tmp_path):
    path = tmp_path / "gbk.yaml"
    path.write_bytes("document:\n  title_zh: 武进区\n".encode("gbk"))
    (problem,) = problems_of(path)
    assert problem.startswith(f"{path}:2:1: the file is not UTF-8 text")
    assert problem.endswith("(save the file as UTF-8)")


def test_empty_file(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing here\n", encoding="utf-8")
    assert problems_of(path) == [f"{path}:1:1: the file is empty"]


def test_python_tags_are_never_constructed(tmp_path):
    path = tmp_path / "evil.yaml"
    path.write_text(
        "schema_version: !!python/object/apply:os.system ['echo pwned']\n", encoding="utf-8"
    )
    problems = problems_of(path)
    assert (
        f"{path}:1:17: YAML tag '!!python/object/apply:os.system' is not allowed (plain lists and mappings only, without tags)"
        in problems
    )
    scalar = tmp_path / "evil2.yaml"
    scalar.write_text("schema_version: !!python/name:os.system\n", encoding="utf-8")
    assert (
        f"{scalar}:1:17: YAML tag '!!python/name:os.system' is not allowed (plain values only: texts, numbers, true/false)"
        in problems_of(scalar)
    )


def test_a_copy_elsewhere_finds_the_packaged_source_text(tmp_path):
    path, _ = plant(tmp_path, ("  total: 670    # 合计（印刷值）", "  total: 670"))
    assert not (tmp_path / "sources").exists()
    assert policy_kb.load(path).model.targets.total == 670


def test_missing_source_text_is_reported(tmp_path):
    path, text = plant(
        tmp_path,
        ("  source_file: sources/000_6cc745b56c039c16.txt", "  source_file: sources/nowhere.txt"),
    )
    assert (
        f"{at(path, text, 'sources/nowhere.txt')}: the source text 'sources/nowhere.txt' cannot be read (a UTF-8 text file, relative to this measures file)"
        in problems_of(path)
    )


def test_loading_does_not_touch_the_file(tmp_path):
    path, _ = plant(tmp_path, ("  total: 670", "  total: 680"))
    before = (path.read_bytes(), os.stat(path).st_mtime_ns)
    with pytest.raises(MeasuresFileError):
        policy_kb.load(path)
    assert (path.read_bytes(), os.stat(path).st_mtime_ns) == before


def test_score_table_out_of_order(tmp_path):
    path, text = plant(
        tmp_path,
        ("          - {at_least: 25, points: 16}\n", "          - {at_least: 35, points: 16}\n"),
    )
    assert problems_of(path) == [
        f"{at(path, text, '{at_least: 35')}: the score table of parameter tech_staff_score_tiers is not in order at "
        "step 2: 35 → 16 after 30 → 20 (steps from the highest threshold down, each with fewer points than the one before)"
    ]


def test_parameter_value_needs_value_or_tiers(tmp_path):
    path, text = plant(
        tmp_path,
        ("        value: 60\n", "        value: 60\n        tiers: [{at_least: 1, points: 1}]\n"),
    )
    where = at(path, text, "from: 2017-01-01\n        value: 60")
    assert problems_of(path) == [
        f"{where}: value 1 of parameter tech_sme_pass_score must "
        "have either 'value' or 'tiers' (a single number (value:) or a score table (tiers:))"
    ]


def test_unknown_score_table(tmp_path):
    path, text = plant(tmp_path, ("tiers: rd_costs_score_tiers}", "tiers: rd_cost_score_tiers}"))
    assert problems_of(path) == [
        f"{at(path, text, 'rd_cost_score_tiers')}: 'rd_cost_score_tiers' is not a score table "
        "(did you mean 'rd_costs_score_tiers' or 'ip_class2_score_tiers'?)"
    ]


def test_score_table_in_a_condition_is_refused(tmp_path):
    path, text = plant(
        tmp_path, ("      - rd_expense > 0\n", "      - rd_expense > rd_costs_score_tiers\n")
    )
    assert problems_of(path) == [
        f"{at(path, text, 'rd_costs_score_tiers', nth=2)}: 'rd_costs_score_tiers' is a score table, which cannot be used "
        "in a condition or formula (a parameter with a single value)"
    ]


def test_estimate_formula_must_give_yuan(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "          formula: rd_expense * (rd_super_deduction_rate - 1)",
            "          formula: ip_class1 * (rd_super_deduction_rate - 1)",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, 'ip_class1 * (rd_super_deduction_rate - 1)')}: the estimate formula gives an amount in 项 (an amount in 元)"
    ]


def test_not_combinable_with_an_unknown_benefit(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "not_combinable_with: [KM5.small_low_profit_tax]",
            "not_combinable_with: [KM5.small_low_profit]",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, 'KM5.small_low_profit]')}: benefit KM5.hnte_income_tax cannot be combined with an unknown "
        "benefit 'KM5.small_low_profit' (did you mean 'KM5.small_low_profit_tax'?)"
    ]


def test_a_fact_in_a_form_group_that_is_not_listed(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "    max: 10000000   # 合理范围：不超过 1000 万\n    group: 规模与财务\n  annual_revenue",
            "    max: 10000000   # 合理范围：不超过 1000 万\n    group: 规模和财务\n  annual_revenue",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, '规模和财务')}: fact employees is in group '规模和财务', which fact_groups "
        "does not list (did you mean '规模与财务'?)"
    ]


def test_a_form_group_listed_twice(tmp_path):
    path, text = plant(
        tmp_path,
        (
            "  - {name: 资质与状态, label_en: Qualifications and status}\n",
            "  - {name: 资质与状态, label_en: Qualifications and status}\n"
            "  - {name: 资质与状态, label_en: Status}\n",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, '资质与状态', nth=1)}: form group '资质与状态' is listed twice (list each group once)"
    ]


def test_form_groups_order_the_form_and_ungrouped_facts_come_last(tmp_path):
    path, _ = plant(
        tmp_path,
        ("    type: bool\n    group: 资质与状态\n  led_standard", "    type: bool\n  led_standard"),
    )
    model = policy_kb.load(path).model
    groups = model.form_groups()
    assert [g.name for g, _ in groups] == [
        "基本信息",
        "规模与财务",
        "研发与知识产权",
        "资质与状态",
        "其他",
    ]
    assert [f.id for f in groups[-1][1]] == ["provincial_rd_institution"]
    assert groups[-1][0].label["en"] == "Other"


@pytest.mark.parametrize(("written", "shown"), [(".inf", "inf"), (".nan", "nan"), ("1e400", "inf")])
def test_a_parameter_value_must_be_a_definite_number(tmp_path, written, shown):
    """Before, .inf and 1e400 passed and crashed `match` (Fraction of inf), and .nan passed and
    left the benefit undetermined with nothing missing."""
    path, text = plant(tmp_path, ("value: 200000  ", f"value: {written}  "))
    assert problems_of(path) == [
        f"{at(path, text, written)}: value 1 of parameter rd_growth_reward_min_increase is {shown}, "
        "not a definite number (a definite number such as 200000 (not .inf, .nan or a number out of "
        "range))"
    ]


def test_an_amount_below_zero_is_refused(tmp_path):
    path, text = plant(tmp_path, ("value: 200000  ", "value: -200000  "))
    where = at(path, text, "-200000")
    assert (
        f"{where}: the value -200000 of parameter rd_growth_reward_min_increase is outside its "
        "plausible range (0–1,000,000,000,000,000 元: amounts in yuan, not below zero; 20万元 is "
        "written 200000)"
    ) in problems_of(path)


@pytest.mark.parametrize(
    ("edit", "needle", "message"),
    [
        (
            ("value: 200000  ", "value: 20  "),
            "20  ",
            "the 2021 value of parameter rd_growth_reward_min_increase is 20 元, which its quote "
            "does not print: 「研发费用年度增长20万元（含）以上」 (the figure the quote prints: 200,000 元 "
            "(万元 and 亿元 converted to 元); if the change is meant (a proposed revision, say), give "
            "this value a reference: saying where it comes from)",
        ),
        (
            ("value: 200000  ", "value: 2000000  "),
            "value: 2000000  ",
            "the 2021 value of parameter rd_growth_reward_min_increase is 2,000,000 元, which its "
            "quote does not print: 「研发费用年度增长20万元（含）以上」 (the figure the quote prints: "
            "200,000 元 (万元 and 亿元 converted to 元); if the change is meant (a proposed "
            "revision, say), give this value a reference: saying where it comes from)",
        ),
    ],
)
def test_a_value_its_quote_does_not_print_is_refused(tmp_path, edit, needle, message):
    """A figure typed in 万元, or a zero too many: the value in force in the document's year must
    be a figure the quote prints, unless it gives its own reference (a proposed change)."""
    path, text = plant(tmp_path, edit)
    offset = 7 if needle.startswith("value: ") else 0
    assert problems_of(path) == [f"{at(path, text, needle, offset=offset)}: {message}"]
    meant = f"{edit[1]}\n        reference: 测算方案"
    path, _ = plant(tmp_path, (edit[0], meant))
    policy_kb.load(path)  # a change that says where it comes from loads


def test_dated_values_are_written_in_the_order_they_start(tmp_path):
    """A mistyped year (2016 for 2022) that sorted the values into another order passed, and
    silently gave 2022 the rate of 2021."""
    path, text = plant(
        tmp_path,
        (
            "      - from: 2022-01-01\n        value: 200\n",
            "      - from: 2016-01-01\n        value: 200\n",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, '2016-01-01')}: value 2 of parameter rd_super_deduction_rate starts on "
        "2016-01-01, before the value written above it, which starts on 2017-01-01 (the dated "
        "values in the order they start: this one should start after 2017-01-01 (is the year "
        "mistyped?))"
    ]


@pytest.mark.parametrize(("old", "new"), [("湖塘镇", "湖塘"), ("绿建区", "绿建")])
def test_a_town_is_named_as_its_row_of_the_annex_prints_it(tmp_path, old, new):
    """Part of a town's name occurs in the text too, so it passed as verbatim; then every
    profile that gave the town's full name was refused."""
    line = next(x for x in SHIPPED.splitlines() if f"name: {old}" in x)
    path, text = plant(tmp_path, (line, line.replace(f"name: {old}", f"name: {new}")))
    seq = int(line.split("seq:")[1].split(",")[0])
    assert problems_of(path) == [
        f"{at(path, text, f'name: {new}', offset=6)}: row {seq} of 附件2 is the town '{old}', but "
        f"this says '{new}' (name: {old} (the full name, as row {seq} of the text prints it))"
    ]


def test_what_the_schema_expects_is_said_in_each_language(tmp_path):
    """The schema's expectations were English inside Chinese messages ('（a date written
    YYYY-MM-DD）'); they are written in both languages now (x-expected-zh, and descriptions
    written '中文 — English')."""
    path, text = plant(
        tmp_path,
        (
            "      - from: 2022-01-01\n        value: 200\n",
            "      - from: 2022年1月1日\n        value: 200\n",
        ),
    )
    with pytest.raises(MeasuresFileError) as info:
        policy_kb.load(path)
    (problem,) = info.value.problems
    where = at(path, text, "2022年1月1日")
    assert problem.render("zh") == (
        f"{where}: 参数 rd_super_deduction_rate 中'from' 为 '2022年1月1日'（写作 YYYY-MM-DD 的日期）"
    )
    assert problem.render("en") == (
        f"{where}: 'from' in parameter rd_super_deduction_rate is '2022年1月1日' (a date written "
        "YYYY-MM-DD)"
    )
    path, text = plant(tmp_path, ("    number: 三(七)\n", ""))
    with pytest.raises(MeasuresFileError) as info:
        policy_kb.load(path)
    zh = [p.render("zh") for p in info.value.problems]
    en = [p.render("en") for p in info.value.problems]
    assert any("原文序号，如 三(七)）" in m and "number as printed" not in m for m in zh), zh
    assert any("number as printed" in m and "原文序号" not in m for m in en), en


KM7_TITLE = "    title_zh: 降低科技型中小企业研发成本\n"


@pytest.mark.parametrize(
    ("typed", "needle", "offset", "zh"),
    [
        (
            "    title_zh 降低科技型中小企业研发成本\n",
            "title_zh 降低",
            0,
            "YAML 语法错误：找不到应有的 ':'（键后面必须跟 ':' 和一个空格）",
        ),
        (
            "    title_zh：降低科技型中小企业研发成本\n",
            "：降低",
            0,
            "键 'title_zh' 后面是全角冒号「：」（改为半角冒号和一个空格：'…: '）",
        ),
        (
            "\u3000\u3000title_zh: 降低科技型中小企业研发成本\n",
            "\u3000\u3000title_zh",
            0,
            "缩进中有全角空格「　」（缩进只能用半角空格）",
        ),
        (
            "    title_zh:\u3000降低科技型中小企业研发成本\n",
            "\u3000降低",
            0,
            "键 'title_zh' 的冒号后面是全角空格「　」（冒号后用半角空格）",
        ),
        (
            '    title_zh: "降低科技型中小企业研发成本\n',
            '"降低',
            0,
            '这一行的引号 " 没有闭合（在这段文字末尾补上 "，或去掉开头的 "）',
        ),
    ],
)
def test_a_yaml_slip_is_named_on_its_own_line_in_chinese(tmp_path, typed, needle, offset, zh):
    """libyaml named the line after a key without its colon, the line after a full-width
    colon or space, and 77 lines after an unclosed quote, in English each time."""
    path, text = plant(tmp_path, (KM7_TITLE, typed))
    with pytest.raises(MeasuresFileError) as info:
        policy_kb.load(path)
    (problem,) = info.value.problems
    assert problem.render("zh") == f"{at(path, text, needle, offset=offset)}: {zh}"


def test_a_facts_chinese_name_in_a_condition_points_to_its_id(tmp_path):
    """The label holds 、, so the condition did not parse: a bare 'syntax error' before."""
    path, text = plant(tmp_path, ("- tech_transfer_income > 0", "- 技术开发、技术转让收入 > 0"))
    assert problems_of(path) == [
        f"{at(path, text, '技术开发、技术转让收入 > 0')}: unknown name '技术开发、技术转让收入' in "
        "condition '技术开发、技术转让收入 > 0' (use the fact id: did you mean "
        "'tech_transfer_income'?)"
    ]


def test_a_colon_inside_a_condition_is_explained(tmp_path):
    """YAML reads 'a: b' as a key and a value: the key is not a condition group, and the
    message says why instead of listing the groups."""
    path, text = plant(
        tmp_path, ("- tech_transfer_income > 0", "- (lambda x: x)(tech_transfer_income) > 0")
    )
    assert problems_of(path) == [
        f"{at(path, text, '(lambda x')}: unknown condition group '(lambda x' (the line holds "
        "': ', so YAML read it as '(lambda x': 'x)(tech_transfer_income) > 0'; a condition has "
        "no colon, and the groups are only all:, any: and not:)"
    ]


@pytest.mark.parametrize(
    ("quote", "unit", "figures"),
    [
        ("研发费用年度增长20万元（含）以上", "元", ["200000"]),
        ("奖励1.15亿元", "元", ["115000000"]),
        ("不超过1,000万元", "元", ["10000000"]),
        ("国家研发费用175%税前加计扣除政策", "%", ["175"]),
        ("减按2.5％计入", "%", ["2.5"]),
        ("全部奖励给企业", "%", []),
        ("20万元", "人", []),
    ],
)
def test_the_figures_a_quote_prints_are_read_exactly(quote, unit, figures):
    from decimal import Decimal

    from policy_kb.policy.sections import printed_figures

    assert printed_figures(quote, unit) == [Decimal(f) for f in figures]


def test_a_document_year_out_of_the_calendar_is_refused_not_a_crash(tmp_path, cli):
    """year: 0 reached the quote check's date() before: 'unexpected error', exit 1."""
    path, _ = plant(
        tmp_path,
        (
            "  issuer_en: Wujin District, Changzhou, Jiangsu Province\n  year: 2021\n",
            "  issuer_en: Wujin District, Changzhou, Jiangsu Province\n  year: 0\n",
        ),
    )
    run = cli("validate", str(path), "--lang", "en")
    assert run.returncode == 2, run.stderr
    assert "unexpected" not in run.stderr
    assert "'year'" in run.stderr


@pytest.mark.parametrize(
    "valid",
    [
        "note: |\n  　　一、总体要求\n",  # a pasted paragraph keeps its full-width indent
        "note: |\n  Email：x\n",  # a full-width colon inside a block of text
        'note: "第一行\n  第二行"\n',  # a quoted text over two lines
        'path: "C:\\\\"\n',  # an escaped backslash before the closing quote
    ],
)
def test_text_inside_a_scalar_is_never_taken_for_the_slip(valid):
    """The slip finder once named these valid lines and hid the real error below them."""
    from policy_kb.policy.yamlsource import read_yaml

    assert read_yaml(valid, "f.yaml").problems == []
    doc = read_yaml(valid + "a: 1\nb: [1, 2\nc: 3\n", "f.yaml")
    (problem,) = doc.problems
    line = valid.count("\n") + 3
    assert problem.render("en") == (
        f"f.yaml:{line}:2: YAML syntax error: did not find the expected ',' or ']' (a bracket "
        "left open?)"
    )


def test_a_parameter_value_too_small_for_a_float_is_said_as_a_number(tmp_path):
    """1e-400 in measures.yaml was 'expected a number' (found by a review): it is a number, one
    no float holds (read as 0 it would change the rule)."""
    path, text = plant(tmp_path, ("value: 200000  ", "value: 1e-400  "))
    assert problems_of(path) == [
        f"{at(path, text, '1e-400')}: 'value' in parameter rd_growth_reward_min_increase is 1e-400"
        " (expected a number that can be held (not so large that it is infinite nor, unless 0, so"
        " small that it reads as 0, and of at most 15 significant digits))"
    ]


@pytest.mark.parametrize(
    "where", ["\n  sme_size:", "\n      - id: KM2.hnte_priority", "\n    - id: registration"]
)
def test_an_empty_list_of_conditions_is_refused(tmp_path, where):
    """`conditions: []` passed validate: on a category every later command crashed (KeyError),
    on a benefit the benefit vanished, on the pre-check's basic conditions the pre-check did
    (found by a hostile-input review). It is a located problem."""
    text = (ROOT / "measures.yaml").read_text("utf-8")
    at = text.index("conditions:", text.index(where))
    indent = " " * (at - text.rindex("\n", 0, at) - 1)
    end = text.index("\n", at)
    assert text[at:end].strip() == "conditions:"
    # the list moves under a key no reader knows; 'conditions' is left empty
    edited = tmp_path / "measures.yaml"
    edited.write_text(text[:at] + f"conditions: []\n{indent}x_conditions:" + text[end:], "utf-8")
    line = text[:at].count("\n") + 1
    problems = problems_of(edited)
    assert any(
        p.startswith(f"{edited}:{line}:") and "'conditions:' needs a list of conditions" in p
        for p in problems
    ), problems


def test_a_file_holding_only_null_says_why_nothing_was_loaded(tmp_path):
    """'~' alone gave '0 problems found; nothing was loaded.' (found by a hostile-input review)."""
    path = tmp_path / "measures.yaml"
    path.write_text("~\n", "utf-8")
    assert problems_of(path) == [
        f"{path}:1:1: the file must be a mapping of sections (document:, facts:, measures: …)"
    ]


def test_a_benefit_naming_itself_and_a_year_for_a_date_are_said_plainly(tmp_path):
    """A benefit not combinable with itself was 'an unknown benefit (did you mean itself?)', and
    'from: 2021' was 'expected a text' (found by a hostile-input review)."""
    path, text = plant(
        tmp_path,
        (
            "not_combinable_with: [KM5.small_low_profit_tax]",
            "not_combinable_with: [KM5.hnte_income_tax]",
        ),
        (
            "      - from: 2021-01-01\n        value: 200000",
            "      - from: 2021\n        value: 200000",
        ),
    )
    problems = problems_of(path)
    assert (
        f"{at(path, text, 'KM5.hnte_income_tax]')}: benefit KM5.hnte_income_tax names itself"
        " under not_combinable_with: name another benefit"
    ) in problems
    assert (
        f"{at(path, text, '2021', nth=text[: text.index('from: 2021' + chr(10))].count('2021'))}:"
        " 'from' in parameter rd_growth_reward_min_increase is 2021 (a date written YYYY-MM-DD)"
    ) in problems


def test_a_town_a_condition_lists_must_be_one_of_annex_2(tmp_path):
    """`town in ["湖塘镇", "不存在镇"]` passed validate, while the same name in a profile is refused
    (found by a hostile-input review); `town == "不存在镇"` was already refused."""
    path, text = plant(
        tmp_path, ("          - rd_expense > 0\n", '          - town in ["湖塘镇", "不存在镇"]\n')
    )
    problems = problems_of(path)
    assert problems == [
        f"{at(path, text, 'town in')}: '不存在镇' is not a known value of 'town' (one of: 前黄镇、嘉泽镇、"
        "洛阳镇、湖塘镇、湟里镇、牛塘镇、礼嘉镇、绿建区、西太湖、雪堰镇、高新区)"
    ]


def test_a_long_value_in_measures_yaml_is_shown_cut_as_a_profiles_is(tmp_path):
    """measures.yaml cut a long value its own way (57 characters and '...'); a profile, a roster
    and measures.yaml now show the same 60 characters and the count (found by a code review)."""
    path, _ = plant(tmp_path, ("value: 200000  ", f"value: '{'x' * 100}'  "))
    (problem,) = [p for p in problems_of(path) if "'value' in parameter" in p]
    assert problem.endswith(f"is '{'x' * 59}… (102 characters in all) (expected a number)")


def test_a_negative_score_step_and_a_tagged_value_are_each_said_once(tmp_path):
    """A score step below 0 passed validate (a 0 count would score points), and a tagged value
    was said twice, the second time as 'empty' (found by a hostile-input review)."""
    last = SHIPPED.rindex("at_least: 1, points: 6}")
    path = tmp_path / "measures.yaml"
    path.write_text(SHIPPED[:last] + "at_least: -10, points: 6}" + SHIPPED[last + 23 :], "utf-8")
    (negative,) = problems_of(path)
    assert negative.endswith("'at_least' in parameter ip_class2_score_tiers is -10 (at least 0)")
    tagged, text = plant(tmp_path, ("value: 200000  ", "value: !foo 200000  "))
    assert problems_of(tagged) == [
        f"{at(tagged, text, '!foo')}: YAML tag '!foo' is not allowed (plain values only: texts,"
        " numbers, true/false)"
    ]


def test_a_parameter_with_no_value_for_the_policy_year_is_refused(tmp_path):
    """It passed validate, then every answer was refused ("no value in force for 2021": found by
    a policy-officer review): an evaluation reads the value of the year's 31 December."""
    path, text = plant(
        tmp_path,
        (
            "      - from: 2017-01-01\n        value: 500\n",
            "      - from: 2017-01-01\n        until: 2021-06-30\n        value: 500\n",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, '- from: 2017-01-01')}: parameter sme_max_employees has no "
        "value in force for the policy year 2021: an evaluation reads the value of 2021-12-31, "
        "and its values run from 2017-01-01 until 2021-06-30 (a value in force on 2021-12-31 "
        "(from on or before it; until on or after it, or none))"
    ]
    path, text = plant(
        tmp_path,
        (
            "      - from: 2017-01-01\n        value: 500\n",
            "      - from: 2022-01-01\n        value: 500\n",
        ),
    )
    with pytest.raises(MeasuresFileError) as info:
        policy_kb.load(path)
    assert [p.render("zh") for p in info.value.problems] == [
        f"{at(path, text, '- from: 2022-01-01')}: 参数 sme_max_employees 在政策年度 "
        "2021 年没有有效取值：评价按 2021-12-31 的取值，而它的取值为 2022-01-01 起（一个在 "
        "2021-12-31 有效的取值（from 不晚于该日；until 不早于该日，或不写））"
    ]


def test_a_fact_whose_min_is_above_its_max_is_refused(tmp_path):
    """It passed validate; then an unknown value of the fact read as a range from the min down
    to the max, and every value given was refused (found by a policy-officer review)."""
    path, text = plant(
        tmp_path,
        (
            "    unit: 人\n    min: 0\n    max: 10000000   # 合理范围：不超过 1000 万\n    group: 规模与财务\n  annual_revenue:",
            "    unit: 人\n    min: 1000\n    max: 0\n    group: 规模与财务\n  annual_revenue:",
        ),
    )
    where = at(path, text, "min: 1000", offset=5)
    assert problems_of(path) == [
        f"{where}: the min of fact employees (1000) is above its max "
        "(0): no value could be given (a min no greater than the max)"
    ]


def test_a_clause_the_source_text_does_not_have_is_refused(tmp_path):
    """A parameter's, a category's or the evaluation's clause was free text: 三(十) and
    三（七） passed and became dangling clause IRIs in every export (found by a policy-officer
    review). A full-width spelling is told the clause it means."""
    path, text = plant(
        tmp_path,
        ("    clause: 三(七)\n    quote: 国家研发", "    clause: 三（七）\n    quote: 国家研发"),
    )
    assert problems_of(path) == [
        f"{at(path, text, '三（七）')}: clause '三（七）' is not a clause number of the source text "
        "('三(七)')"
    ]
    path, text = plant(
        tmp_path, ("  clause: 三(一)\n  quote: 积极推动", "  clause: 三(十)\n  quote: 积极推动")
    )
    assert problems_of(path) == [
        f"{at(path, text, '三(十)')}: clause '三(十)' is not a clause number of the source text "
        "(one of: 三(一), 三(二), 三(三), 三(四), 三(五), 三(六), 三(七), 三(八), 三(九), 四(一), "
        "四(二), 四(三))"
    ]


def test_a_measure_under_another_clause_title_is_refused(tmp_path):
    """A measure that copies another clause's title (verbatim, so the quote check passed) now
    names the title the text gives its own clause (found by a policy-officer review)."""
    path, text = plant(
        tmp_path,
        (
            "    number: 三(九)\n    title_zh: 推动科技资源开放集聚共享",
            "    number: 三(九)\n    title_zh: 加强入库评价工作组织发动",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, '加强入库评价工作组织发动', nth=1)}: the title of measure KM9 (三(九)) "
        "is not the title the source text gives that clause ('推动科技资源开放集聚共享')"
    ]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "{ratio: [rd_expense, total_costs], tiers: rd_costs_score_tiers}",
            "{ratio: [rd_expense, employees], tiers: rd_costs_score_tiers}",
            "[rd_expense, employees]",
            "the ratio rd_expense / employees divides facts of different units (元, 人): a score "
            "table reads a percentage (two facts of the same unit (tech_staff / employees, both "
            "in 人))",
        ),
        (
            "{count: ip_class1, tiers: ip_class1_score_tiers}",
            "{count: annual_revenue, tiers: ip_class1_score_tiers}",
            "ip_class1_score_tiers}",
            "score table ip_class1_score_tiers is in 项, but what is scored here is annual_revenue "
            "(in 元) (a score table in 元)",
        ),
        (
            "  pass_score: tech_sme_pass_score",
            "  pass_score: sme_max_employees",
            "sme_max_employees\n",
            "the pass mark sme_max_employees is in 人, not in 分 (a parameter in 分)",
        ),
    ],
)
def test_the_precheck_checks_the_units_it_scores(tmp_path, old, new, needle, message):
    """A ratio of 元 to 人, revenue scored on the 项 table and a pass mark of 500 人 passed
    validate and scored nonsense (found by a policy-officer review)."""
    path, text = plant(tmp_path, (old, new))
    where = at(path, text, needle, nth=text.count(needle) - 1)
    assert problems_of(path) == [f"{where}: {message}"]


def test_a_figure_with_no_quote_typed_in_the_wrong_unit_is_refused(tmp_path):
    """A parameter with a reference and no quote was never compared with a printed figure: 0.15
    for 15 % and 500 for 500万元 passed, and every amount they enter was off (found by a
    policy-officer review). A range: says such a value is meant."""
    start = SHIPPED.index("  hnte_income_tax_rate:")
    old = SHIPPED[start : SHIPPED.index("value: 15", start) + len("value: 15")]
    path, text = plant(tmp_path, (old, old.replace("value: 15", "value: 0.15")))
    assert problems_of(path) == [
        f"{at(path, text, '0.15')}: the value 0.15 of parameter hnte_income_tax_rate is below 1 %: "
        "a percentage is written as a percent (15 for 15 %, not 0.15) (a value in the unit; if "
        "it is meant, a range: that allows it (range: [0, 1]))"
    ]
    start = SHIPPED.index("  tech_transfer_exempt_limit:")
    old = SHIPPED[start : SHIPPED.index("value: 5000000", start) + len("value: 5000000")]
    path, text = plant(tmp_path, (old, old.replace("value: 5000000", "value: 500")))
    (problem,) = problems_of(path)
    assert problem.endswith(
        "the value 500 of parameter tech_transfer_exempt_limit is below 10,000 元: amounts are in "
        "yuan (20万元 is 200000) (a value in the unit; if it is meant, a range: that allows it "
        "(range: [0, 1]))"
    )
    meant = old.replace("value: 5000000", "value: 500").replace(
        "    values:", "    range: [0, 10000]\n    values:"
    )
    path, _text = plant(tmp_path, (old, meant))
    assert policy_kb.load(path).model.parameters["tech_transfer_exempt_limit"] is not None


def test_a_yes_no_fact_scored_as_a_count_is_not_offered_itself(tmp_path):
    """'count: hnte_valid' was told "did you mean 'hnte_valid'?" (found by a review)."""
    path, text = plant(
        tmp_path,
        (
            "{count: ip_class1, tiers: ip_class1_score_tiers}",
            "{count: hnte_valid, tiers: ip_class1_score_tiers}",
        ),
    )
    assert problems_of(path) == [
        f"{at(path, text, 'hnte_valid, tiers')}: 'hnte_valid' is not a numeric fact of the "
        "profile (a count or an amount of the profile)"
    ]
