"""Evidence and 免申即享: what proves each fact, who holds it, how a benefit would be granted."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT
from test_loader import plant, problems_of

import policy_kb

EXAMPLES = ROOT / "examples"


def _benefit(kb, example: str, benefit: str) -> dict:
    data = kb.evaluate(policy_kb.read_profile(str(EXAMPLES / example))).to_dict("zh")
    found = [b for m in data["measures"] for b in m["benefits"] if b["id"] == benefit]
    return found[0]


def _ids(records: list[dict]) -> list[str]:
    return [r["id"] for r in records]


def test_every_fact_is_proven_by_some_evidence(kb):
    proven = {f for kind in kb.model.evidence for f in kind.proves}
    assert proven == set(kb.model.facts)
    assert {k.held for k in kb.model.evidence} == {True, False, None}  # all three are used
    assert all(k.source for k in kb.model.evidence)


def test_a_fact_without_evidence_is_refused_at_the_fact(tmp_path: Path):
    path, text = plant(
        tmp_path,
        (
            "proves: [year, employees, annual_revenue",
            "proves: [year, annual_revenue",
        ),
    )
    line = text[: text.index("  employees:\n")].count("\n") + 1
    assert problems_of(path) == [
        f"{path}:{line}:3: fact employees has no evidence: nothing says what proves it or who "
        "holds that (add it to the proves of an evidence type in evidence.types; a fact the "
        "enterprise declares itself goes under self_declaration)"
    ]


def test_an_unknown_holder_or_fact_in_evidence_is_named(tmp_path: Path):
    path, _ = plant(
        tmp_path,
        ("      holder: stats\n", "      holder: statistics\n"),
        ("proves: [first_time_above_scale]", "proves: [first_time_above_scle]"),
    )
    found = problems_of(path)
    assert any(
        "evidence type above_scale_directory names the holder 'statistics', which "
        "evidence.holders does not list (did you mean 'stats'?)" in p
        for p in found
    ), found
    assert any(
        "proves 'first_time_above_scle', which is not a fact (did you mean "
        "'first_time_above_scale'?)" in p
        for p in found
    ), found


def test_a_benefit_proven_by_government_data_is_no_application(kb):
    b = _benefit(kb, "registered_hnte_first_above_scale.yaml", "KM7.rd_super_deduction")
    assert b["status"] == "applies"
    application = b["application"]
    assert application["mode"] == "no_application"
    assert application["mode_label"] == "免申即享：政府已掌握决定这项待遇的全部数据"
    assert application["documents"] == []
    assert _ids(application["government_data"]) == [
        "rd_deduction_schedule",
        "tech_sme_registration",
    ]
    schedule = application["government_data"][0]
    assert (schedule["holder"], schedule["holder_label"]) == ("tax", "税务部门")
    assert schedule["held_by_government"] is True


def test_a_benefit_needing_the_enterprises_declaration_lists_that_document(kb):
    # small low-profit: "not in a restricted industry" is the enterprise's own declaration
    b = _benefit(kb, "small_low_profit.yaml", "KM5.small_low_profit_tax")
    assert b["status"] == "applies"
    assert b["application"]["mode"] == "documents_needed"
    assert _ids(b["application"]["documents"]) == ["self_declaration"]
    assert b["application"]["documents"][0]["held_by_government"] is False
    assert _ids(b["application"]["government_data"]) == ["income_tax_return"]


def test_an_undetermined_benefit_and_a_refused_one(kb):
    open_ = _benefit(kb, "half_unknown.yaml", "KM5.hnte_income_tax")
    assert open_["status"] == "undetermined"
    # the government's own data would settle it: nothing for the enterprise to bring
    assert open_["application"]["mode"] == "documents_needed"
    assert open_["application"]["documents"] == []
    assert _ids(open_["application"]["government_data"]) == ["hnte_certificate"]
    # ... and the tech authority could be asked for the fact the profile does not give
    assert [r["fact"] for r in open_["application"]["data_requests"]] == ["hnte_valid"]
    refused = _benefit(kb, "small_low_profit.yaml", "KM7.rd_super_deduction")
    assert refused["status"] == "does_not_apply"
    assert refused["application"] == {
        "mode": "not_applicable",
        "mode_label": "不适用",
        "documents": [],
        "government_data": [],
        "data_requests": [],
    }


def test_an_evidence_whose_holder_is_not_established_is_a_document(kb):
    b = _benefit(kb, "incubated_startup.yaml", "KM4.incubation_services")
    assert b["status"] == "applies"
    assert b["application"]["mode"] == "documents_needed"
    (agreement,) = b["application"]["documents"]
    assert agreement["id"] == "incubation_agreement"
    assert agreement["held_by_government"] is None  # not established: never taken as held


def test_each_reason_names_the_evidence_of_the_facts_it_read(kb):
    b = _benefit(kb, "registered_hnte_first_above_scale.yaml", "KM7.rd_growth_reward")
    leaves = []

    def walk(records):
        for r in records:
            if "parts" in r:
                walk(r["parts"])
            else:
                leaves.append(r)

    walk(b["reasons"])
    growth = next(r for r in leaves if "rd_expense_growth" in r["facts"])
    # a derived fact is proven by the evidence of the facts it is computed from
    assert _ids(growth["evidence"]) == ["rd_deduction_schedule"]
    assert all("evidence" in r for r in leaves)


def test_the_precheck_lists_the_evaluations_own_materials(kb):
    data = kb.evaluate(policy_kb.read_profile(str(EXAMPLES / "half_unknown.yaml"))).to_dict("en")
    materials = data["tech_sme_precheck"]["materials"]
    assert materials["mode"] == "documents_needed"
    assert "tech_staff_list" in _ids(materials["documents"])
    assert "income_tax_return" in _ids(materials["government_data"])
    assert materials["documents"][0]["label"].startswith("List of S&T staff")
    # an enterprise already registered this year has no evaluation to apply for
    registered = EXAMPLES / "registered_hnte_first_above_scale.yaml"
    data = kb.evaluate(policy_kb.read_profile(str(registered))).to_dict("en")
    assert data["tech_sme_precheck"]["materials"]["mode"] == "not_applicable"
    assert data["tech_sme_precheck"]["materials"]["documents"] == []


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_table_says_how_each_benefit_would_be_granted(cli, lang):
    run = cli("match", str(EXAMPLES / "small_low_profit.yaml"), "--lang", lang)
    assert run.returncode == 0, run.stderr
    if lang == "zh":
        assert "需准备的材料：企业承诺书（自行申报、自行承诺的事项）" in run.stdout
    else:
        assert "documents to prepare: The enterprise's own declaration" in run.stdout


SHAPES = ROOT / "ontology" / "evidence-shapes.ttl"

DOCUMENTS_PER_BENEFIT = """
PREFIX cv: <http://data.europa.eu/m8g/>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX pkb: <https://w3id.org/policy-kb/ontology#>
SELECT ?benefit ?document WHERE {
  ?b pkb:eligibilityCriterion ?criterion ; dcterms:identifier ?benefit .
  ?criterion cv:hasEvidenceTypeList/cv:specifiesEvidenceType ?type .
  ?type skos:prefLabel ?document .
  FILTER NOT EXISTS { ?type pkb:heldByGovernment true }
  FILTER (lang(?document) = "zh")
} ORDER BY ?benefit ?document
"""


def test_the_graph_models_evidence_with_cccev_and_passes_the_shapes(kb):
    from pyshacl import validate
    from rdflib import Graph

    shapes = Graph().parse(SHAPES)
    conforms, _, report = validate(kb.graph, shacl_graph=shapes)
    assert conforms, report
    # the shapes do bite: an evidence type without a holder is reported
    broken = Graph()
    for triple in kb.graph:
        broken.add(triple)
    from rdflib import URIRef
    from rdflib.namespace import DCTERMS

    licence = next(s for s in broken.subjects() if str(s).endswith("/evidence/business_licence"))
    broken.remove((URIRef(licence), DCTERMS.publisher, None))
    conforms, _, report = validate(broken, shacl_graph=shapes)
    assert not conforms
    assert "an evidence type has one holder" in report


def test_a_sparql_query_lists_the_documents_an_applicant_needs_per_benefit(kb):
    rows = [(str(b), str(d)) for b, d in kb.graph.query(DOCUMENTS_PER_BENEFIT)]
    by_benefit: dict[str, list[str]] = {}
    for benefit, document in rows:
        by_benefit.setdefault(benefit, []).append(document)
    # small low-profit relief reads "not in a restricted industry": the enterprise's declaration
    assert by_benefit["KM5.small_low_profit_tax"] == ["企业承诺书（自行申报、自行承诺的事项）"]
    # the HNTE income-tax relief is decided by the certificate, which the S&T authority holds
    assert "KM5.hnte_income_tax" not in by_benefit
    assert "入孵协议（孵化器出具的在孵证明）" in by_benefit["KM4.incubation_services"]


# Read by hand from each example and measures.yaml's evidence: every benefit that does not
# refuse, how it would be granted and what the enterprise must bring (the rest are not_applicable).
_READY, _DOCS = "no_application", "documents_needed"
HAND_CHECKED = {
    # an HNTE with every fact in tax, S&T and statistics records: all 免申即享
    "registered_hnte_first_above_scale.yaml": {
        b: (_READY, [])
        for b in (
            "KM1.evaluation_mobilization",
            "KM2.hnte_priority",
            "KM2.first_above_scale_reward",
            "KM3.st_project_priority",
            "KM5.hnte_income_tax",
            "KM5.tech_transfer_tax",
            "KM6.tech_credit",
            "KM7.rd_super_deduction",
            "KM7.rd_growth_reward",
            "KM8.rd_platform_support",
            "KM9.shared_facilities",
        )
    },
    # too large for an SME: what remains rests on the HNTE certificate and tax records
    "over_sme_limits.yaml": {
        b: (_READY, [])
        for b in (
            "KM5.hnte_income_tax",
            "KM5.tech_transfer_tax",
            "KM6.tech_credit",
            "KM7.rd_growth_reward",
        )
    },
    # the cultivation-pool list and the incubation agreement have no established government
    # holder; "not in a restricted industry" is the enterprise's own declaration
    "incubated_startup.yaml": {
        "KM1.evaluation_mobilization": (_DOCS, ["hnte_cultivation_list"]),
        "KM4.incubation_services": (_DOCS, ["incubation_agreement"]),
        "KM5.small_low_profit_tax": (_DOCS, ["self_declaration"]),
    },
    "small_low_profit.yaml": {"KM5.small_low_profit_tax": (_DOCS, ["self_declaration"])},
    # everything open: government data would settle all but the small low-profit relief,
    # which also needs the declaration
    "half_unknown.yaml": {
        b: (_DOCS, ["self_declaration"] if b == "KM5.small_low_profit_tax" else [])
        for b in (
            "KM1.evaluation_mobilization",
            "KM2.hnte_priority",
            "KM2.first_above_scale_reward",
            "KM3.st_project_priority",
            "KM5.hnte_income_tax",
            "KM5.small_low_profit_tax",
            "KM6.tech_credit",
            "KM7.rd_super_deduction",
            "KM7.rd_growth_reward",
            "KM8.rd_platform_support",
            "KM9.shared_facilities",
        )
    },
}


@pytest.mark.parametrize("example", sorted(HAND_CHECKED))
def test_every_examples_application_modes_and_documents_by_hand(kb, example):
    data = kb.evaluate(policy_kb.read_profile(str(EXAMPLES / example))).to_dict("zh")
    found = {
        b["id"]: (b["application"]["mode"], _ids(b["application"]["documents"]))
        for m in data["measures"]
        for b in m["benefits"]
    }
    expected = HAND_CHECKED[example]
    assert {b: v for b, v in found.items() if v[0] != "not_applicable"} == expected
    assert all(v == ("not_applicable", []) for b, v in found.items() if b not in expected)
