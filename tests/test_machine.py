"""The column back-end's machine (``policy_kb/backends/_vm.c``) against the per-profile engine.

The machine runs the compiled rule tree over chunks of rows; these tests hold it to the
per-profile engine (the reference, in exact decimals) on rows built to sit on every bound, with
unknown facts, numbers that are not whole and every Arrow layout the machine reads in place.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_roster import generate_rows

from policy_kb.backends import _vm
from policy_kb.backends.columns import columns_from_values, evaluate_columns
from policy_kb.backends.program import ABSENT, EVERY, SOME, Layout, Op, compile_program
from policy_kb.district.cells import convert_batch
from policy_kb.district.kernel import evaluate_batch
from policy_kb.district.roster import header_map
from policy_kb.policy.model import FactType


def test_the_compiler_and_the_machine_number_their_instructions_alike():
    assert {op.name: int(op) for op in Op} == dict(_vm.OPS)


def _expected(kb, profile: dict[str, Any]) -> dict[str, Any]:
    ev = kb.evaluate(profile)
    out: dict[str, Any] = {b.id: b.status.value for b in ev.benefits}
    pre = ev.precheck
    out["precheck"] = (pre.qualifies, pre.route, pre.score_low, pre.score_high)
    for benefit, estimate in ev.estimates.items():
        if kb.benefit(benefit).estimate is not None:
            out[f"estimate:{benefit}"] = None if estimate.amount is None else float(estimate.amount)
    return out


def _got(out: pa.RecordBatch, i: int) -> dict[str, Any]:
    row = {name: out.column(name)[i].as_py() for name in out.schema.names}
    row["precheck"] = (
        row["precheck_qualifies"],
        row["precheck_route"],
        row["precheck_score_low"],
        row["precheck_score_high"],
    )
    return row


def _differences(kb, batch: pa.RecordBatch, profiles: list[dict[str, Any]]) -> list[str]:
    """Every difference between the kernel's answers and the per-profile engine's; a row the
    per-profile validator refuses must be refused by the kernel too."""
    out = kb.evaluate_arrow(batch)
    found = []
    for i, profile in enumerate(profiles):
        got = _got(out, i)
        if not _valid(kb, profile):
            if got["error"] is None:
                found.append(f"row {i}: not refused ({profile})")
            continue
        if got["error"] is not None:
            found.append(f"row {i}: refused: {got['error']}")
            continue
        for key, want in _expected(kb, profile).items():
            if got[key] != want:
                found.append(f"row {i} {key}: {got[key]!r} != {want!r} ({profile})")
    return found


def _whole_rows(kb, n: int, seed: int) -> list[dict[str, Any]]:
    """Generated rows (on every bound, some facts unknown) whose numbers are all whole."""
    return [
        r
        for r in generate_rows(kb, n, seed=seed)
        if all(float(v).is_integer() for k, v in r.items() if isinstance(v, (int, float)))
    ]


def test_whole_numbers_are_decided_by_the_machine_alone(kb):
    """On generated rows of whole numbers (planted on every bound and tier, some facts unknown)
    no row is left to the per-profile engine: ratios and half fen are decided in exact integers
    by the machine, and every answer equals the per-profile engine's."""
    rows = _whole_rows(kb, 3_000, seed=11)
    assert len(rows) > 2_000
    facts = sorted({k for r in rows for k in r} - {"name", "town"})
    arrays = {}
    for fact in facts:
        kind = kb.model.facts[fact].type
        values = [r.get(fact) for r in rows]
        arrays[fact] = pa.array(values, type=pa.bool_() if kind is FactType.BOOL else pa.int64())
    batch = pa.RecordBatch.from_pydict(arrays)
    model = kb.model
    converted = convert_batch(model, batch, header_map(model, facts, "test", False), 2)
    result = evaluate_columns(model, converted.columns, kb.parameters_for_year(2021))
    assert not result.undecided.any()
    assert _differences(kb, batch, rows) == []


def test_every_layout_of_a_batch_gives_the_same_answers(kb):
    """The same rows as int64, int32, float64 and text columns, with and without gaps, sliced
    at an offset that is not a whole byte of a bitmap: the same answers."""
    rows = _whole_rows(kb, 900, seed=3)
    facts = sorted({k for r in rows for k in r} - {"name", "town"})
    layouts = {
        "int64": pa.int64(),
        "int32": pa.int32(),
        "float64": pa.float64(),
        "text": pa.string(),
    }
    answers = []
    for number_type in layouts.values():
        arrays = {}
        for fact in facts:
            values = [r.get(fact) for r in rows]
            if kb.model.facts[fact].type is FactType.BOOL:
                arrays[fact] = pa.array(values, type=pa.bool_())
            elif number_type == pa.string():
                arrays[fact] = pa.array([None if v is None else str(v) for v in values])
            else:
                arrays[fact] = pa.array(
                    [None if v is None or abs(v) >= 2**31 else v for v in values]
                    if number_type == pa.int32()
                    else values,
                    type=number_type,
                )
        batch = pa.RecordBatch.from_pydict(arrays).slice(3, 500)
        out = kb.evaluate_arrow(batch)
        answers.append(out.drop_columns(["row"]) if hasattr(out, "drop_columns") else out)
    int64, _, float64, text = answers
    assert int64.equals(float64)
    assert int64.equals(text)


def test_a_ratio_of_numbers_that_are_not_whole_on_a_tier_is_left_to_exact_decimals(kb):
    """0.3 yuan of R&D on 10 yuan of revenue is exactly 3 %: doubles cannot tell (0.3 · 100 is
    30.000000000000004), so the row is undecided in the machine and the kernel's answer is the
    per-profile engine's, score and all."""
    profiles = [
        {"rd_expense": 0.3, "annual_revenue": 10, "total_costs": 10, "employees": 10},
        {"rd_expense": 0.29, "annual_revenue": 10, "total_costs": 10, "employees": 10},
        {"rd_expense": 3, "annual_revenue": 100, "total_costs": 100, "employees": 10},
    ]
    columns = columns_from_values(kb.model, 3, {k: [p[k] for p in profiles] for k in profiles[0]})
    result = evaluate_columns(kb.model, columns, kb.parameters_for_year(2021))
    assert result.undecided.tolist() == [True, False, False]
    batch = pa.RecordBatch.from_pydict(
        {k: pa.array([float(p[k]) for p in profiles]) for k in profiles[0]}
    )
    assert _differences(kb, batch, profiles) == []
    scores = kb.evaluate_arrow(batch).column("precheck_score_low").to_pylist()
    assert scores[0] == scores[2]  # 3 % reaches the 3 % tier, as a whole number does


def test_a_program_reads_only_what_a_batch_gives(kb):
    """A fact absent from a batch is never loaded; a fact given on every row needs no mask of
    where it is given; one with gaps needs one."""
    model = kb.model
    params = kb.parameters_for_year(2021)

    def loads(states: dict[str, int]) -> tuple[set[int], set[int]]:
        layout = Layout(tuple(states.get(f, ABSENT) for f in model.facts))
        program = compile_program(model, layout, params)
        values = {int(r[2]) for r in program.body if r[0] in (Op.LOAD_D, Op.LOAD_B)}
        given = {int(r[2]) for r in program.body if r[0] == Op.LOAD_K}
        return {program.inputs.index(f) for f in program.inputs} & values, given

    values, given = loads({"employees": EVERY, "annual_revenue": EVERY})
    assert len(values) == 2
    assert given == set()
    values, given = loads({"employees": SOME})
    assert len(values) == 1
    assert len(given) == 1


NUMBERS = st.one_of(
    st.none(),
    st.integers(-5, 5),
    st.integers(0, 10**9),
    st.sampled_from([0, 1, 2, 3, 4, 5, 10, 100, 500, 501, 1_000_000, 200_000_000, 200_000_001]),
    st.floats(0, 10**7, allow_nan=False).map(lambda x: round(x, 3)),
)


@st.composite
def _profiles(draw: st.DrawFn, kb: Any) -> list[dict[str, Any]]:
    facts = [f for f in kb.model.facts.values() if f.type not in (FactType.TEXT, FactType.TOWN)]
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        row: dict[str, Any] = {}
        for fact in facts:
            if fact.type is FactType.YEAR:
                continue
            if fact.type is FactType.BOOL:
                value: Any = draw(st.sampled_from([None, True, False]))
            else:
                value = draw(NUMBERS)
                if value is not None and fact.type is FactType.COUNT:
                    value = abs(int(value))
            if value is not None:
                row[fact.id] = value
        if "tech_staff" in row and "employees" in row and row["tech_staff"] > row["employees"]:
            row["tech_staff"] = row["employees"]
        if row.get("taxable_income") is not None and draw(st.booleans()):
            row["taxable_income"] = -row["taxable_income"]
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def profiles_strategy(kb):
    return _profiles(kb)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_rows_answer_as_one_profile_does(kb, profiles_strategy, data):
    """Rows of random facts (unknowns, bounds, fractions of a yuan, negative numbers), as float64
    columns with gaps: every status, the pre-check and every amount equal the per-profile
    engine's, and a row it refuses is refused."""
    profiles = data.draw(profiles_strategy)
    facts = sorted({k for p in profiles for k in p})
    arrays = {}
    for fact in facts:
        values = [p.get(fact) for p in profiles]
        if kb.model.facts[fact].type is FactType.BOOL:
            arrays[fact] = pa.array(values, type=pa.bool_())
        else:
            arrays[fact] = pa.array(
                [None if v is None else float(v) for v in values], type=pa.float64()
            )
    if not arrays:
        return
    batch = pa.RecordBatch.from_pydict(arrays)
    assert _differences(kb, batch, profiles) == []


def _valid(kb, profile: dict[str, Any]) -> bool:
    try:
        kb.validate_profile(profile)
    except Exception:
        return False
    return True


def test_the_kernel_on_several_years_settles_each_row_in_its_own_year(kb):
    """Undecided rows of a batch that spans two years are answered with their own year."""
    profiles = [
        {"year": 2021, "rd_expense": 0.02, "tech_sme_registered": True},
        {"year": 2022, "rd_expense": 0.02, "tech_sme_registered": True},
        {"year": 2022, "rd_expense": 1_000, "tech_sme_registered": True},
    ]
    batch = pa.RecordBatch.from_pydict(
        {
            "year": pa.array([p["year"] for p in profiles]),
            "rd_expense": pa.array([p["rd_expense"] for p in profiles]),
            "tech_sme_registered": pa.array([True] * 3),
        }
    )
    model = kb.model
    converted = convert_batch(model, batch, {n: n for n in batch.schema.names}, 2)
    result = evaluate_batch(model, converted, kb._years(None))
    assert not result.undecided.any()
    amounts = result.estimates["KM7.rd_super_deduction"].tolist()
    for amount, profile in zip(amounts, profiles, strict=True):
        want = kb.evaluate(profile).estimates["KM7.rd_super_deduction"].amount
        assert amount == float(want)
    assert not math.isnan(np.float64(amounts[1]))


def test_a_table_in_parts_is_read_where_its_parts_lie(kb):
    """A batch that comes as a table of parts (a CSV is parsed block by block) — parts of odd
    lengths, cut at bit offsets that are not whole bytes, gaps in some parts only — gives the
    same answers as the same rows in one batch, and its cells are checked part by part (a bad
    cell in the third part is refused on its own row)."""
    from policy_kb.district.kernel import answers

    rows = generate_rows(kb, 1_000, seed=21)
    rows[700]["employees"] = -3  # refused
    facts = sorted({k for r in rows for k in r} - {"name", "town"})
    arrays = {}
    for fact in facts:
        values = [r.get(fact) for r in rows]
        kind = kb.model.facts[fact].type
        arrays[fact] = pa.array(values, type=pa.bool_() if kind is FactType.BOOL else pa.float64())
    whole = pa.RecordBatch.from_pydict(arrays)
    cuts = [0, 3, 250, 251, 613, 1_000]
    table = pa.Table.from_batches([whole.slice(a, b - a) for a, b in itertools.pairwise(cuts)])
    model, years = kb.model, kb._years(None)
    mapping = {n: n for n in facts}
    one = convert_batch(model, whole, mapping, 2)
    parts = convert_batch(model, table, mapping, 2)
    assert parts.columns.bounds == tuple(cuts)
    assert parts.columns.rows_valid.tolist() == one.columns.rows_valid.tolist()
    assert list(parts.errors) == [702]
    a = answers(model, one, evaluate_batch(model, one, years))
    b = answers(model, parts, evaluate_batch(model, parts, years))
    assert a.equals(b)
    # a fact's numpy column, asked for by a report, joins the parts
    assert parts.columns.column("employees").values.tolist() == (
        one.columns.column("employees").values.tolist()
    )


def test_the_machine_refuses_buffers_shorter_than_their_rows():
    """A buffer too short for the rows it is said to hold, an unknown layout or an output too
    short is refused with a ValueError, never read or written past its end."""
    invalid = np.zeros(10, dtype=np.uint8)
    spec = [(0.0, 1.0, 0)]
    with pytest.raises(ValueError, match="shorter than its rows"):
        _vm.check([(1, np.zeros(5), None, 0)], spec, [], 10, invalid)
    with pytest.raises(ValueError, match="shorter than its rows"):
        _vm.check([(1, np.zeros(10), None, 3)], spec, [], 10, invalid)  # offset 3 + 10 rows
    with pytest.raises(ValueError, match="not one the machine reads"):
        _vm.check([(9, np.zeros(10), None, 0)], spec, [], 10, invalid)
    with pytest.raises(ValueError, match="shorter than its rows"):  # offset · 8 past the end
        _vm.check([(1, np.zeros(10), None, 2**61 - 10)], spec, [], 10, invalid)
    with pytest.raises(TypeError, match="is a tuple"):
        _vm.check([[1, np.zeros(10), None, 0]], spec, [], 10, invalid)
    _vm.check([(1, np.array([0.5] * 9 + [2.0]), None, 0)], spec, [], 10, invalid)
    assert invalid.tolist() == [0] * 9 + [1]


def test_the_machine_refuses_outputs_too_short_for_what_is_written_to_them(kb):
    """Each output must hold a row of what the program writes to it (a status a byte, an amount
    eight): one as long in bytes as the rows, but of doubles, is refused."""
    from policy_kb.backends.program import ANSWERS, Programs

    n = 4096
    columns = columns_from_values(
        kb.model, n, {"taxable_income": [1.0] * n, "hnte_valid": [True] * n}
    )
    program = Programs(kb.model).get(
        columns.layout(kb.model), kb.parameters_for_year(2021), ANSWERS
    )
    args = (program.init, program.body, program.xcode, program.sizes, program.dconst)
    tables = (program.xconst, program.dtab, program.xtab)
    inputs = [columns.argument(k) for k in program.inputs]
    short = [np.empty(n, dtype=np.uint8) for _ in program.outputs]  # n bytes each
    with pytest.raises(ValueError, match="output is shorter"):
        _vm.run(*args, *tables, inputs, short, n)
    fit = [np.empty(n, dtype=o.dtype) for o in program.outputs]
    _vm.run(*args, *tables, inputs, fit, n)


def test_a_whole_number_beyond_2_53_is_whole_and_infinity_is_not():
    """Every double from 2**53 on is a whole number: a count that large is refused only by its
    bounds, never as 'not whole'; infinity and NaN are never whole."""
    invalid = np.zeros(5, dtype=np.uint8)
    cells = np.array([2.0**60, 2.0**53 + 2, 2.5, np.inf, np.nan])
    _vm.check([(1, cells, None, 0)], [(0.0, np.inf, 1)], [], 5, invalid)
    assert invalid.tolist() == [0, 0, 1, 1, 1]


def test_cells_at_the_ends_of_int64_and_out_of_the_calendar_are_refused_not_a_crash(kb):
    """The largest int64 (which the fast int64 → double conversion must not overflow on) and a
    year out of 1949–2100 are refused with the fact and the value, the other rows answered."""
    batch = pa.RecordBatch.from_pydict(
        {
            "employees": pa.array([2**63 - 1, 5, 5, 5, 5, 5], pa.int64()),
            "year": pa.array([2021.0, 2021.0, 0.0, 1e10, 2021.5, None]),
        }
    )
    errors = kb.evaluate_arrow(batch).column("error").to_pylist()
    assert errors[0].startswith("employees（职工总数）：应为不超过 10,000,000 人")
    assert errors[1] is None
    assert errors[5] is None
    for i in (2, 3, 4):
        assert errors[i].startswith("year（数据所属年度）：")


def test_a_count_bounded_by_another_fact_is_bounded_by_its_maximum_too(kb):
    """tech_staff ≤ employees ≤ 10,000,000: tech_staff above ten million is refused even when
    employees is not given — by one profile and over columns alike — rather than read as an
    empty range of employees."""
    from policy_kb import ProfileError

    profile = {"tech_staff": 20_000_000, "hnte_valid": True}
    with pytest.raises(ProfileError) as info:
        kb.evaluate(profile)
    message = info.value.issues[0].render("zh")
    assert message.startswith("tech_staff（科技人员数）：应为不超过 10,000,000 人")
    batch = pa.RecordBatch.from_pydict({k: [v] for k, v in profile.items()})
    out = kb.evaluate_arrow(batch)
    assert out.column("error").to_pylist() == [message]
    assert out.column("KM1.evaluation_mobilization").to_pylist() == [None]


def test_a_formula_too_long_for_exact_integers_is_rounded_as_the_exact_engine_rounds(
    kb, tmp_path, measures_text
):
    """A product of many percentages has more decimals than 128-bit integers hold: the amount
    has no exact program, and a row the double cannot round surely is settled in decimals."""
    import policy_kb

    old = "formula: rd_expense * (rd_super_deduction_rate - 1)"
    assert measures_text.count(old) == 1
    path = tmp_path / "measures.yaml"
    path.write_text(measures_text.replace(old, old + " * rd_super_deduction_rate" * 20), "utf-8")
    long = policy_kb.load(path)
    rows = [1, 3, 7, 12_345, 999_999, 10**9 + 7]
    batch = pa.RecordBatch.from_pydict(
        {"rd_expense": pa.array(rows, pa.int64()), "tech_sme_registered": [True] * len(rows)}
    )
    got = long.evaluate_arrow(batch).column("estimate:KM7.rd_super_deduction").to_pylist()
    for value, amount in zip(rows, got, strict=True):
        one = long.evaluate({"rd_expense": value, "tech_sme_registered": True})
        assert amount == float(one.estimates["KM7.rd_super_deduction"].amount), value


def test_cells_checked_while_evaluated_or_on_their_own_refuse_the_same_rows(kb):
    """The machine checks the number cells as it evaluates them (window by window, while they
    are in cache); asked for the valid rows first, it checks them on their own. Either way the
    same rows are refused, with the same messages, and the same answers given."""
    from policy_kb.district.kernel import answers

    rows = generate_rows(kb, 20_000, seed=4)
    bad = {3: ("employees", -1), 9_000: ("tech_staff", -5), 19_999: ("ip_class1", 2.5)}
    for i, (fact, value) in bad.items():
        rows[i][fact] = value
    facts = sorted({k for r in rows for k in r} - {"name", "town"})
    arrays = {}
    for fact in facts:
        kind = kb.model.facts[fact].type
        arrays[fact] = pa.array(
            [r.get(fact) for r in rows], type=pa.bool_() if kind is FactType.BOOL else pa.float64()
        )
    batch = pa.RecordBatch.from_pydict(arrays)
    model, years = kb.model, kb._years(None)
    mapping = {n: n for n in facts}
    fused = convert_batch(model, batch, mapping, 2)
    assert fused.columns.check is not None  # not checked yet
    fused_answers = answers(model, fused, evaluate_batch(model, fused, years))
    alone = convert_batch(model, batch, mapping, 2)
    refused = np.flatnonzero(~alone.columns.rows_valid).tolist()  # checked on their own
    assert refused == sorted(bad)
    assert sorted(fused.errors) == sorted(alone.errors) == [i + 2 for i in sorted(bad)]
    assert [e.message for e in fused.errors.values()] == [e.message for e in alone.errors.values()]
    assert fused_answers.equals(answers(model, alone, evaluate_batch(model, alone, years)))


@pytest.mark.parametrize(
    "text",
    [
        "town in ['湖塘镇', '牛塘镇']",
        "town not in ['湖塘镇', '牛塘镇']",
        "town == '湖塘镇'",
        "town != '湖塘镇'",
        "'湖塘镇' == town",
        "'湖塘镇' != town",
        "town == name",
        "name != town",
    ],
)
def test_a_text_comparison_over_columns_answers_as_one_profile_does(kb, text):
    """A condition on a text fact (the town): the caller computes it over the batch's texts and
    the machine combines it like a yes/no fact — unknown where the town is not given."""
    from policy_kb.backends.columns import columns_from_values, evaluate_condition
    from policy_kb.backends.trace import evaluate_tree
    from policy_kb.errors import Location
    from policy_kb.rules.parse import TEXT, Scope, ValueType, parse_condition

    model = kb.model
    towns = sorted(t.name for t in model.targets.towns)
    scope = Scope(
        facts={"town": TEXT, "name": TEXT, "employees": ValueType("number", "人")},
        derived={},
        parameters={"sme_max_employees": ValueType("number", "人")},
        categories=frozenset(),
        choices={"town": frozenset(towns)},
    )
    at = Location("measures.yaml", 1, 1)
    condition = parse_condition(text, scope, at)
    values = ["湖塘镇", "牛塘镇", towns[-1], None, "湖塘镇", None]
    names = ["湖塘镇", "乙公司", towns[-1], "丙公司", None, None]
    params = kb.parameters_for_year(2021)
    columns = columns_from_values(model, len(values), {"town": values, "name": names})
    true, false = evaluate_condition(model, condition, columns, params)
    for i, (town, name) in enumerate(zip(values, names, strict=True)):
        profile = {k: v for k, v in (("town", town), ("name", name)) if v is not None}
        one = evaluate_tree(model, condition, profile, params)
        assert (bool(true[i]), bool(false[i])) == (one.outcome is True, one.outcome is False), (
            text,
            town,
            name,
        )
        if town is None:  # unknown on either side is unknown, never a match or a mismatch
            assert one.outcome is None
