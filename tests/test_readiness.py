"""免申即享 readiness over a roster: the column-wise counts equal counting the per-profile answers."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_district import ROSTER, _profiles
from test_roster import generate_rows

import policy_kb
from policy_kb.district.readiness import ANY_BENEFIT

_STATUS = ("enterprises", "no_application", "documents_needed", "not_applicable", "undetermined")


def _expected(kb, profiles: list[dict[str, Any]]) -> dict[tuple[str, str | None], Counter]:
    """Per (benefit or "*", town): the counts read off each profile's JSON answer."""
    found: dict[tuple[str, str | None], Counter] = defaultdict(Counter)
    for profile in profiles:
        answer = kb.evaluate(profile).to_dict("zh")
        town = profile.get("town")
        documents: set[str] = set()
        requests: set[str] = set()
        ready = False
        for measure in answer["measures"]:
            for b in measure["benefits"]:
                app = b["application"]
                c = found[(b["id"], town)]
                c["enterprises"] += 1
                c[app["mode"]] += app["mode"] != "documents_needed" or bool(app["documents"])
                c["undetermined"] += b["status"] == "undetermined"
                c["waiting_for_data"] += bool(app["data_requests"])
                c.update("doc:" + d["id"] for d in app["documents"])
                c.update("req:" + r["fact"] for r in app["data_requests"])
                documents |= {d["id"] for d in app["documents"]}
                requests |= {r["fact"] for r in app["data_requests"]}
                ready |= app["mode"] == "no_application"
        c = found[(ANY_BENEFIT, town)]
        c["enterprises"] += 1
        c["no_application"] += ready
        c["documents_needed"] += bool(documents)
        c["waiting_for_data"] += bool(requests)
        c.update("doc:" + d for d in documents)
        c.update("req:" + f for f in requests)
    return found


def _counted(report: policy_kb.Readiness, benefit: str, town: str | None) -> Counter:
    counts = report.of(benefit, town)
    c = Counter({k: getattr(counts, k) for k in (*_STATUS, "waiting_for_data")})
    c.update({"doc:" + k: v for k, v in counts.documents.items()})
    c.update({"req:" + k: v for k, v in counts.requests.items()})
    return +c


def _same(kb, report, profiles) -> int:
    want = _expected(kb, profiles)
    assert want, "nothing to compare"
    for (benefit, town), counts in want.items():
        assert _counted(report, benefit, town) == +counts, (benefit, town)
    assert {t for _, t in want} == set(report.towns)
    return len(want)


def test_readiness_of_the_example_roster_equals_the_per_profile_answers(kb):
    report = kb.readiness(ROSTER)
    assert report.rows == 2000
    assert report.invalid == 0
    compared = _same(kb, report, _profiles(kb))
    assert compared == 14 * len(report.towns)  # 13 benefits and "any benefit" in every town
    every = report.district(ANY_BENEFIT)
    assert every.enterprises == 2000
    # the roster has benefits of all three kinds: granted without an application, needing the
    # enterprise's documents, and waiting on data a department holds
    assert every.no_application > 0
    assert every.documents_needed > 0
    assert every.waiting_for_data > 0


def test_readiness_of_generated_rows_with_unknowns_equals_the_per_profile_answers(kb, tmp_path):
    rows = generate_rows(kb, 600, seed=23)
    towns = [t.name for t in kb.towns]
    for i, row in enumerate(rows):
        if i % 7:  # most rows name a town; some do not
            row["town"] = towns[i % len(towns)]
    facts = sorted({k for r in rows for k in r})
    kinds = {"bool": pa.bool_(), "text": pa.string(), "town": pa.string()}
    table = pa.table(
        {
            f: pa.array(
                [r.get(f) for r in rows], kinds.get(kb.model.facts[f].type.value, pa.float64())
            )
            for f in facts
        }
    )
    path = tmp_path / "generated.parquet"
    pq.write_table(table, path)
    report = kb.readiness(path, amounts_are_yuan=True)
    assert report.rows == 600
    valid = []
    for r in rows:
        try:
            kb.evaluate(r)
        except policy_kb.ProfileError:
            continue
        valid.append(r)
    assert report.invalid == 600 - len(valid)
    _same(kb, report, valid)
    assert None in report.towns  # the rows without a town are counted apart


def test_one_town_only(kb):
    whole = kb.readiness(ROSTER)
    one = kb.readiness(ROSTER, town="礼嘉镇")
    assert one.towns == ["礼嘉镇"]
    for benefit in (*whole.benefits, ANY_BENEFIT):
        assert one.district(benefit) == whole.of(benefit, "礼嘉镇")
    with pytest.raises(policy_kb.UnknownNameError, match="礼嘉"):
        kb.readiness(ROSTER, town="礼嘉")
    english = kb.readiness(ROSTER, town="lijia town")  # the English name the English table shows
    assert english.towns == ["礼嘉镇"]
    assert english.district(ANY_BENEFIT) == one.district(ANY_BENEFIT)


def _table(cli, *args: str) -> str:
    run = cli("readiness", str(ROSTER), "--quiet", *args)
    assert run.returncode == 0, run.stderr
    return run.stdout


def test_the_readiness_table_in_chinese_and_english(cli, kb):
    report = kb.readiness(ROSTER)
    counts = report.of("KM5.hnte_income_tax", "礼嘉镇")
    numbers = [
        counts.enterprises,
        counts.no_application,
        counts.documents_needed,
        counts.undetermined,
        counts.waiting_for_data,
        counts.not_applicable,
    ]
    zh = _table(cli, "--town", "礼嘉镇")
    line = next(x for x in zh.splitlines() if "KM5.hnte_income_tax" in x)
    assert line.split()[1:] == [f"{n:,}" for n in numbers]
    assert "免申即享就绪情况：174 家企业，0 行数据有误未计入（仅 礼嘉镇）" in zh
    assert "企业须自行准备的材料" in zh
    assert "可向持有部门调取的数据" in zh
    assert "由主管部门决定" in zh
    en = _table(cli, "--lang", "en")
    assert "免申即享 readiness: 2,000 enterprises; rows refused and not counted: 0" in en
    assert "Data to request from the department that holds it" in en
    assert "the granting authority decides" in en
    every = report.district(ANY_BENEFIT)
    top = max(every.requests, key=lambda f: every.requests[f])
    label = kb.model.facts[top].label["en"]
    line = next(x for x in en.splitlines() if x.strip().startswith(label))
    assert line.split()[-1] == f"{every.requests[top]:,}"
    for text in (en,):  # no Chinese punctuation in the English sentences
        for sentence in text.splitlines():
            if sentence and not sentence.startswith("  "):
                assert not set("：，；（）、") & set(sentence.replace("免申即享", "")), sentence


def test_the_readiness_file_holds_every_count(cli, kb, tmp_path):
    out = tmp_path / "readiness.csv"
    run = cli("readiness", str(ROSTER), "--quiet", "-o", str(out), "--format", "json")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    report = kb.readiness(ROSTER)
    assert data["any_benefit"]["total"]["enterprises"] == 2000
    first = data["benefits"][0]
    assert first["total"]["no_application"] == report.district(first["benefit"]).no_application
    with out.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["镇（区）", "待遇", "类别", "编号", "名称", "持有部门", "企业"]
    cells = {(r[0], r[1], r[2], r[3]): int(r[6]) for r in rows[1:]}
    counts = report.of("KM7.rd_super_deduction", "高新区")
    assert cells[("高新区", "KM7.rd_super_deduction", "no_application", "")] == (
        counts.no_application
    )
    for fact, n in counts.requests.items():
        assert cells[("高新区", "KM7.rd_super_deduction", "data_request", fact)] == n
    every = report.district(ANY_BENEFIT)
    for doc, n in every.documents.items():
        assert cells[("全区", ANY_BENEFIT, "document", doc)] == n


def test_an_undetermined_benefit_names_the_data_a_department_holds(kb):
    example = Path(ROSTER).parent.parent / "registered_hnte_first_above_scale.yaml"
    profile = policy_kb.read_profile(str(example))
    profile = {k: v for k, v in profile.data.items() if k != "hnte_valid"}
    answer = kb.evaluate(profile).to_dict("en")
    benefit = next(
        b for m in answer["measures"] for b in m["benefits"] if b["id"] == "KM5.hnte_income_tax"
    )
    assert benefit["status"] == "undetermined"
    requests = benefit["application"]["data_requests"]
    assert [r["fact"] for r in requests] == ["hnte_valid"]
    assert [e["id"] for e in requests[0]["evidence"]] == ["hnte_certificate"]
    assert requests[0]["evidence"][0]["holder_label"] == "science and technology authority"


def test_a_refused_row_is_named_and_one_town_has_no_district_rows(cli, tmp_path):
    lines = ROSTER.read_text(encoding="utf-8").splitlines()
    head = lines[0].split(",")
    bad = lines[1].split(",")
    bad[head.index("employees")] = "-5"
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join([lines[0], *lines[2:6], ",".join(bad)]) + "\n", encoding="utf-8")
    run = cli("readiness", str(roster), "--quiet", "--lang", "en")
    assert run.returncode == 0, run.stderr
    assert "rows refused and not counted: 1" in run.stdout
    assert f"{roster}: row 6: employees" in run.stderr  # the row and the fact, as roster says
    out = tmp_path / "one.csv"
    town = lines[2].split(",")[head.index("town")]
    run = cli("readiness", str(ROSTER), "--quiet", "--town", town, "-o", str(out))
    assert run.returncode == 0, run.stderr
    with out.open(encoding="utf-8", newline="") as fh:
        names = {row[0] for row in list(csv.reader(fh))[1:]}
    assert names == {town}  # no "全区" rows that would only repeat the town's counts


def test_documents_are_counted_only_where_the_enterprise_brings_one(kb):
    report = kb.readiness(ROSTER)
    counts = report.district("KM2.hnte_priority")
    # every deciding fact of this benefit is held by a department: nothing to bring
    assert counts.documents_needed == sum(counts.documents.values()) == 0
    assert counts.waiting_for_data == counts.undetermined > 0
