"""The short answer (``detail=summary``) and what start-up no longer does twice.

The summary must say exactly what the full document says about statuses, missing facts and
amounts; the structural verdict remembered for a measures file must never stand in for a check
of different bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft202012Validator

import policy_kb
from policy_kb.policy.resources import schema

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_summary_says_what_the_full_document_says(kb, example, lang):
    ev = kb.evaluate(policy_kb.read_profile(str(example)))
    full, short = ev.to_dict(lang), ev.to_dict(lang, detail="summary")
    assert list(Draft202012Validator(schema("evaluation-summary")).iter_errors(short)) == []
    assert short["detail"] == "summary"
    assert short["summary"] == full["summary"]
    assert short["estimates"]["total_by_kind"] == full["estimates"]["total_by_kind"]
    benefits = {b["id"]: b for m in full["measures"] for b in m["benefits"]}
    assert [b["id"] for b in short["benefits"]] == list(benefits)
    for b in short["benefits"]:
        whole = benefits[b["id"]]
        assert (b["status"], b["missing"]) == (whole["status"], whole["missing"])
        assert b["amount"] == (whole["estimate"]["amount"] if whole["estimate"] else None)
        assert b["citation"] == {
            "measure": whole["citation"]["measure"],
            "number": whole["citation"]["number"],
        }
    pre, whole_pre = short["tech_sme_precheck"], full["tech_sme_precheck"]
    for key in ("qualifies", "route", "score", "score_range", "pass_score", "missing"):
        assert pre[key] == whole_pre[key]
    assert [m["status"] for m in short["measures"]] == [m["status"] for m in full["measures"]]
    assert len(json.dumps(short, ensure_ascii=False)) * 5 < len(
        json.dumps(full, ensure_ascii=False)
    )


def test_summary_from_the_cli(cli):
    out = cli(
        "match",
        str(ROOT / "examples" / "small_low_profit.yaml"),
        "--format",
        "json",
        "--detail",
        "summary",
    )
    data = json.loads(out.stdout)
    assert data["detail"] == "summary"
    assert {b["id"]: b["status"] for b in data["benefits"]}["KM5.small_low_profit_tax"] == "applies"


def test_an_unknown_detail_is_refused_by_name(kb):
    ev = kb.evaluate({"employees": 10})
    with pytest.raises(policy_kb.UnknownNameError) as caught:
        ev.to_dict("en", detail="short")
    assert "detail" in caught.value.render("en")
    assert "'short'" in caught.value.render("en")


def test_lazy_parts_equal_a_fresh_evaluation(kb):
    # the pre-check's indicators and smallest change are worked out on first use
    profile = yaml.safe_load((ROOT / "examples" / "incubated_startup.yaml").read_text("utf-8"))
    first, second = kb.evaluate(profile), kb.evaluate(profile)
    assert first.precheck is not None
    assert second.precheck is not None
    assert first.precheck.changes == second.precheck.changes
    assert [i.points for i in first.precheck.indicators] == [
        i.points for i in second.precheck.indicators
    ]
    assert first.precheck.score_low == sum(i.low for i in first.precheck.indicators)


def test_kept_records_never_carry_one_answer_into_another():
    """Records of yes / no facts are kept across answers: an answer given after many others (the
    flags flipped every way) is byte for byte the answer of a fresh knowledge base, and changing
    a returned dictionary changes no later answer."""
    profiles = [yaml.safe_load(p.read_text("utf-8")) for p in EXAMPLES]
    flags = [
        f.id
        for f in policy_kb.load().model.facts.values()
        if f.type.value == "bool" and any(f.id in p for p in profiles)
    ]
    assert len(flags) >= 5
    used = policy_kb.load()
    for k in range(2 ** min(len(flags), 6)):
        for profile in profiles:
            flipped = dict(profile)
            for i, name in enumerate(flags[:6]):
                if name in flipped:
                    flipped[name] = bool(k >> i & 1) if k % 3 else None
            used.evaluate(flipped).to_bytes("zh")
    spoiled = used.evaluate(profiles[0]).to_dict("zh")
    for measure in spoiled["measures"]:
        for benefit in measure["benefits"]:
            benefit["reasons"].clear()
            benefit["status"] = "spoiled"
    for profile in profiles:
        fresh = policy_kb.load()
        for lang in ("zh", "en"):
            assert used.evaluate(profile).to_bytes(lang) == fresh.evaluate(profile).to_bytes(lang)
            assert used.evaluate(profile).to_dict(lang) == fresh.evaluate(profile).to_dict(lang)


def test_kept_words_follow_the_numbers_and_the_year(tmp_path):
    """Sentences, applications, gaps and summaries are written once per condition, language and
    threshold and kept by the plan: after many answers with other numbers, other years (here a
    threshold that changes in 2022) and unknown facts, every answer is byte for byte a fresh
    knowledge base's."""
    text = (ROOT / "measures.yaml").read_text("utf-8")
    block = text.index("\n  sme_max_employees:")
    line_end = text.index("\n", text.index("        value: ", block) + 1)
    old_value = int(text[text.index("        value: ", block) :][15:line_end].strip().split()[0])
    edited = tmp_path / "measures.yaml"
    edited.write_text(
        text[:line_end]
        + f"\n      - from: 2022-01-01\n        value: {old_value - 1}"
        + text[line_end:],
        "utf-8",
    )
    profiles = [yaml.safe_load(p.read_text("utf-8")) for p in EXAMPLES]
    years = (2021, 2022, 2023)
    used = policy_kb.load(edited)
    assert used.parameters_for_year(2022)["sme_max_employees"].value == old_value - 1
    for scale in (0, 0.5, 3, 1):
        for year in years:
            for profile in profiles:
                varied = {
                    k: int(v * scale) if type(v) is int else v
                    for k, v in profile.items()
                    if k != "year"
                }
                for lang in ("zh", "en"):
                    used.evaluate(varied, year=year).to_bytes(lang)
                    used.evaluate(dict(list(varied.items())[::2]), year=year).to_bytes(lang)
    for year in years:
        fresh = policy_kb.load(edited)
        for profile in profiles:
            given = {k: v for k, v in profile.items() if k != "year"}
            for lang in ("zh", "en"):
                mine = used.evaluate(given, year=year).to_bytes(lang)
                assert mine == fresh.evaluate(given, year=year).to_bytes(lang)


def test_kept_parts_do_not_depend_on_the_order_of_the_answers():
    """Kept parts (records of flags, applications kept by the outcomes of a benefit's conditions,
    sentences kept by threshold) are keyed by everything they depend on: 240 profiles at and
    around every bound, with facts left unknown, answered in one order by one knowledge base and
    in the reverse order by another, give the same bytes, and the dictionary the bytes say."""
    import random

    rng = random.Random(20261207)
    model = policy_kb.load().model
    flags = sorted(f.id for f in model.facts.values() if f.type.value == "bool")
    bounds = {
        "employees": [0, 300, 500, 501, 2000],
        "tech_staff": [0, 30, 100],
        "annual_revenue": [0, 200_000_000, 200_000_001],
        "total_assets": [0, 50_000_000, 200_000_001],
        "taxable_income": [-500_000, 0, 3_000_000, 3_000_001],
        "rd_expense": [0, 1, 1_200_000, 1_200_000.5],
        "rd_expense_prior_year": [0, 1_000_000],
        "tech_transfer_income": [0, 0.5, 5_000_000],
    }
    profiles = []
    for _ in range(240):
        profile: dict[str, object] = {
            f: rng.choice([True, False]) for f in flags if rng.random() < 0.6
        }
        profile.update(
            {f: rng.choice(values) for f, values in bounds.items() if rng.random() < 0.75}
        )
        if profile.get("tech_staff", 0) > profile.get("employees", 10**9):  # type: ignore[operator]
            del profile["tech_staff"]
        profiles.append(profile)
    forward, backward = policy_kb.load(), policy_kb.load()
    ahead = [forward.evaluate(p).to_bytes(lang) for p in profiles for lang in ("zh", "en")]
    behind = [
        backward.evaluate(p).to_bytes(lang) for p in reversed(profiles) for lang in ("en", "zh")
    ]
    assert ahead == behind[::-1]
    for p in profiles[:40]:
        ev = forward.evaluate(p)
        assert json.loads(ev.to_bytes("en")) == ev.to_dict("en")


# ── start-up ─────────────────────────────────────────────────────────────────────────────────


def _fresh(code: str, cache: Path | str) -> str:
    env = {**os.environ, "POLICY_KB_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, check=True
    )
    return done.stdout.strip()


IMPORTS = "import sys, policy_kb; policy_kb.load(); print(sorted({m.split('.')[0] for m in sys.modules} & {'jsonschema', 'rdflib', 'owlready2', 'fastapi', 'yaml'}))"


def test_a_file_checked_once_is_not_checked_again_and_the_graph_waits(tmp_path):
    assert _fresh(IMPORTS, tmp_path) == "['jsonschema', 'yaml']"  # first load: read, checked
    assert len(list((tmp_path / "sound").iterdir())) == 1
    assert _fresh(IMPORTS, tmp_path) == "[]"  # same bytes, same version: the kept model, no YAML
    assert _fresh(IMPORTS, "off") == "['jsonschema', 'yaml']"  # cache off: always read


def test_changed_bytes_are_checked_even_after_a_sound_verdict(tmp_path, measures_text):
    good = tmp_path / "measures.yaml"
    good.write_text(measures_text, encoding="utf-8")
    cache = tmp_path / "cache"
    assert _fresh(f"import policy_kb; policy_kb.load({str(good)!r}); print('ok')", cache) == "ok"
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        measures_text.replace("  employees:\n", "  employees: 3\n  x_employees:\n", 1), "utf-8"
    )
    code = (
        "import policy_kb\n"
        "try:\n"
        f"    policy_kb.load({str(bad)!r})\n"
        "except policy_kb.MeasuresFileError as e:\n"
        "    print(e.render('en').splitlines()[0])\n"
    )
    assert "bad.yaml:" in _fresh(code, cache)


def test_a_kept_result_is_not_used_by_changed_code_of_the_same_version(tmp_path, monkeypatch):
    """The kept verdict of 'sound' was keyed by the version alone: in a checkout, a measures file
    found sound by older checks was trusted by newer ones until the cache folder was deleted
    (met while adding checks). The key now holds the checking code's files as installed."""
    from policy_kb import cache
    from policy_kb.policy import verdicts

    monkeypatch.setenv("POLICY_KB_CACHE_DIR", str(tmp_path))
    checker = Path(verdicts.__file__)
    before = checker.stat()
    cache.code_stamp.cache_clear()
    kept = cache.entry("sound", b"the same bytes")
    try:
        os.utime(checker, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
        cache.code_stamp.cache_clear()
        assert cache.entry("sound", b"the same bytes") != kept
    finally:
        os.utime(checker, ns=(before.st_atime_ns, before.st_mtime_ns))
        cache.code_stamp.cache_clear()
    assert cache.entry("sound", b"the same bytes") == kept


def test_an_unwritable_cache_folder_is_no_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    assert _fresh("import policy_kb; print(len(policy_kb.load().measures))", blocker) == "12"


# ── the smallest change, from the tables ─────────────────────────────────────────────────────


def test_changes_scored_from_the_tables_equal_re_running_the_plan(kb):
    """Every candidate of every profile that fails on its score: the tables and the plan agree."""
    import random

    from policy_kb.backends.trace import Record
    from policy_kb.reason import changes

    rng = random.Random(15)
    method, plan = kb.model.evaluation, kb.plan
    alone = changes._scored_alone(plan, method)
    assert {"rd_expense", "tech_staff"} <= alone
    params = kb.parameters_for_year(2021)
    tried = passing = 0
    for _ in range(400):
        employees = rng.randint(1, 500)
        profile = {
            "registered_in_mainland": True,
            "employees": employees,
            "tech_staff": rng.randint(0, employees),
            "annual_revenue": rng.choice([0, rng.randint(1, 200_000_000)]),
            "total_assets": rng.randint(0, 200_000_000),
            "rd_expense": rng.randint(0, 9_000_000),
            "total_costs": rng.randint(1, 200_000_000),
            "ip_class1": rng.randint(0, 2),
            "ip_class2": rng.randint(0, 6),
            "restricted_industry": False,
            "serious_violation": False,
            "hnte_valid": False,
            "provincial_rd_institution": False,
            "national_award_top3": False,
            "led_standard": False,
        }
        if rng.random() < 0.3:
            del profile["total_costs"]  # a range left open
        checked = kb.validate_profile(profile)
        record = Record(plan, plan.run(checked.values, params), checked.values)
        if record.v[plan.qualifies] is not False:
            continue
        for ind in method.indicators:
            for source in ind.parts:
                fact = source.numerator.name
                if fact not in alone or checked.values.get(fact) is None:
                    continue
                current = checked.values[fact]
                for c in changes._candidates(ind, fact, checked.values, None, record):
                    if c <= current or not changes._within(record, fact, c):
                        continue
                    tried += 1
                    by_tables = changes._from_tables(record, method, ind, fact, current, c)
                    by_plan = changes._by_running(record, ind, fact, current, c, method)
                    assert by_tables == by_plan, (profile, fact, c)
                    passing += by_tables is not None
    assert tried > 200
    assert passing > 20


SAME_ANSWERS = (
    "import glob, hashlib, policy_kb\n"
    "kb = policy_kb.load()\n"
    "h = hashlib.sha256(kb.export('turtle').encode())\n"
    "for f in sorted(glob.glob('examples/*.yaml')):\n"
    "    for lang in ('zh', 'en'):\n"
    "        h.update(kb.evaluate(policy_kb.read_profile(f)).to_bytes(lang))\n"
    "h.update(repr(kb.model.measures[6].benefits[1].condition.location).encode())\n"
    "print(h.hexdigest())\n"
)


def test_a_kept_document_builds_the_same_knowledge_base(tmp_path):
    """Read from the kept document or from the YAML: the same graph, answers and positions."""
    from_yaml = _fresh(SAME_ANSWERS, "off")
    assert _fresh(SAME_ANSWERS, tmp_path) == from_yaml  # first load: from the YAML, then kept
    assert _fresh(SAME_ANSWERS, tmp_path) == from_yaml  # second load: from the kept document


def test_a_damaged_kept_document_is_ignored(tmp_path):
    assert _fresh("import policy_kb; print(len(policy_kb.load().measures))", tmp_path) == "12"
    (kept,) = (tmp_path / "sound").iterdir()
    well_formed = b'{"data": {}, "values": [], "keys": [], "quoted": [], "typed": []}'
    for damage in (b"{not json", b'{"data": {}}', b"[]", well_formed):
        kept.write_bytes(damage)
        code = "import policy_kb; print(len(policy_kb.load().measures))"
        assert _fresh(code, tmp_path) == "12"


def test_every_command_of_the_full_parser_is_built_alone(cli):
    """The parser builds only the command being run: the same options and help as in the full one."""
    import argparse

    from policy_kb.serve.cli import COMMANDS, _parser

    def commands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        return dict(sub.choices)

    for lang in ("zh", "en"):
        full = commands(_parser(lang))
        assert set(full) == COMMANDS
        for name in COMMANDS:
            alone = commands(_parser(lang, only=name))
            assert list(alone) == [name]
            assert alone[name].format_help() == full[name].format_help()
    assert "match" in cli("--help").stdout
