"""The exported graph as knowledge engineers' tools read it: OWL entities for every term,
HermiT on TBox + ABox, labels, CPSV-AP's required properties, stable IRIs and bytes."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS
from test_loader import plant

import policy_kb
from policy_kb.graph.vocab import CPSV, CV, ONTOLOGY_IRI

ONTOLOGY = ROOT / "ontology"


@pytest.fixture(scope="module")
def both() -> Graph:
    """TBox + ABox as a user gets them: the two committed Turtle files."""
    graph = Graph()
    graph.parse(ONTOLOGY / "policy_kb.ttl", format="turtle")
    graph.parse(ONTOLOGY / "wujin-tech-sme-2021.ttl", format="turtle")
    return graph


def test_hermit_classifies_tbox_and_abox_together(tmp_path):
    from owlready2 import World, sync_reasoner

    # the ABox imports the TBox by its IRI: a local copy stands in for it, as a user's Protégé
    # or owlready2 would be pointed to one (nothing is fetched)
    library = tmp_path / "library"
    library.mkdir()
    tbox = Graph().parse(ONTOLOGY / "policy_kb.ttl", format="turtle")
    tbox.serialize(library / "ontology.owl", format="xml", encoding="utf-8")
    abox = tmp_path / "abox.nt"
    Graph().parse(ONTOLOGY / "wujin-tech-sme-2021.ttl", format="turtle").serialize(
        abox, format="nt", encoding="utf-8"
    )
    world = World()
    import owlready2

    owlready2.onto_path.insert(0, str(library))
    try:
        onto = world.get_ontology(abox.as_uri()).load()
    finally:
        owlready2.onto_path.remove(str(library))
    with onto:
        sync_reasoner(world, infer_property_values=False, debug=0)  # raises on an error
    key = world.search_one(iri="*KeyMeasure")
    measures = [m.name for m in key.instances()]
    assert len(measures) == 9  # KM1–KM9, classified as key measures


def test_the_abox_is_an_ontology_that_imports_the_tbox(kb):
    abox = kb.abox
    ontologies = list(abox.subjects(RDF.type, OWL.Ontology))
    assert len(ontologies) == 1
    o = ontologies[0]
    assert (o, OWL.imports, URIRef(ONTOLOGY_IRI)) in abox
    version = abox.value(o, OWL.versionIRI)
    assert str(version).endswith(kb.model.sha256[:16])
    assert str(abox.value(o, DCTERMS.license)).startswith("https://")


def test_every_term_the_graph_uses_is_declared(both):
    declared = set()
    for kind in (OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty, OWL.Class):
        declared |= set(both.subjects(RDF.type, kind))
    builtin = {RDF.type, RDFS.label, RDFS.comment, RDFS.subClassOf, RDFS.domain, RDFS.range}
    builtin |= {
        str(OWL) + t for t in ("versionIRI", "imports", "versionInfo", "inverseOf", "disjointWith")
    }
    builtin = {URIRef(t) for t in builtin}
    properties = {p for _, p, _ in both} - builtin
    assert sorted(str(p) for p in properties - declared) == []
    classes = set(both.objects(None, RDF.type)) - {
        OWL.Class,
        OWL.ObjectProperty,
        OWL.DatatypeProperty,
        OWL.AnnotationProperty,
        OWL.Ontology,
        OWL.SymmetricProperty,
        OWL.TransitiveProperty,
        OWL.NamedIndividual,
        RDFS.Class,
        RDF.Property,
    }
    skos_classes = {SKOS.Concept, SKOS.ConceptScheme}
    assert sorted(str(c) for c in classes - declared - skos_classes) == []


def test_every_subject_has_a_label(kb):
    g = kb.abox
    subjects = {s for s in g.subjects() if isinstance(s, URIRef)}
    unlabelled = [
        s for s in subjects if (s, RDFS.label, None) not in g and (s, SKOS.prefLabel, None) not in g
    ]
    assert len(subjects) > 250
    assert unlabelled == []


def test_each_public_service_has_what_cpsv_ap_requires(kb):
    g = kb.abox
    services = sorted(g.subjects(RDF.type, CPSV.PublicService))
    assert len(services) == 12
    for s in services:
        assert len(list(g.objects(s, DCTERMS.identifier))) == 1, s
        titles = {o.language for o in g.objects(s, DCTERMS.title) if isinstance(o, Literal)}
        assert {"zh", "en"} <= titles, s
        assert any(True for _ in g.objects(s, DCTERMS.description)), s
        authorities = list(g.objects(s, CV.hasCompetentAuthority))
        assert authorities, s
        for a in authorities:
            assert (a, RDF.type, CV.PublicOrganisation) in g
            assert g.value(a, RDFS.label) is not None
        for requirement in g.objects(s, CV.holdsRequirement):
            assert (requirement, RDF.type, CV.Requirement) in g
        for output in g.objects(s, CPSV.produces):
            assert (output, RDF.type, CV.Output) in g
            assert (output, CV.holdsRequirement, None) not in g  # on the service, not the output
    publisher = g.value(predicate=DCTERMS.publisher, object=None, any=True)
    assert publisher is None or not isinstance(publisher, Literal)
    for _, _, o in g.triples((None, DCTERMS.publisher, None)):
        assert isinstance(o, URIRef)


def _criteria(kb: policy_kb.KnowledgeBase, benefit: str) -> set[str]:
    g = kb.abox
    found = {str(s) for s in g.subjects() if f"/benefit/{benefit}/criterion" in str(s)}
    return {s for s in found if not s.endswith("/evidence")}


def test_criterion_iris_do_not_change_when_conditions_are_reordered(kb, tmp_path):
    path, _ = plant(
        tmp_path,
        (
            "          - registered_tech_sme\n          - rd_expense > 0\n        implies",
            "          - rd_expense > 0\n          - registered_tech_sme\n        implies",
        ),
    )
    reordered = policy_kb.load(path)
    before = _criteria(kb, "KM7.rd_super_deduction")
    assert len(before) == 3  # the criterion and its two parts
    assert _criteria(reordered, "KM7.rd_super_deduction") == before
    orders = {
        str(s).rsplit("/", 1)[-1]: int(o)
        for s, o in reordered.abox.subject_objects(URIRef(ONTOLOGY_IRI + "#order"))
        if "/benefit/KM7.rd_super_deduction/criterion/" in str(s)
    }
    other = next(k for k in orders if k != "registered_tech_sme")
    assert other.startswith("c-")  # a comparison: named by what it says
    assert (orders["registered_tech_sme"], orders[other]) == (2, 1)  # the new order is kept


@pytest.mark.parametrize("fmt", ["turtle", "json-ld", "nt", "xml"])
def test_every_export_is_the_same_bytes_on_every_run(fmt, tmp_path, kb):
    outputs = []
    for seed in ("1", "2"):  # another hash seed: sets iterate in another order
        out = tmp_path / f"{seed}.{fmt}"
        run = subprocess.run(
            [sys.executable, "-m", "policy_kb", "export", "--format", fmt, "-o", str(out)],
            cwd=ROOT,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    parsed = Graph().parse(data=outputs[0].decode("utf-8"), format=fmt)
    assert isomorphic(parsed, kb.abox)


def test_the_json_ld_reads_as_plain_json(kb):
    import json

    data = json.loads(kb.export("json-ld"))
    context = data["@context"]
    assert context["hasPart"] == {"@id": ONTOLOGY_IRI + "#hasPart", "@type": "@id"}
    km7 = next(n for n in data["@graph"] if n["@id"].endswith("/measure/KM7"))
    assert km7["identifier"] == "KM7"
    assert "PublicService" in km7["@type"]
    assert all(isinstance(p, str) for p in km7["produces"])
    assert not any(k.startswith("http") for k in km7)  # every key is a term, not a full IRI


def test_committed_export_is_current(kb):
    committed = (ONTOLOGY / "wujin-tech-sme-2021.ttl").read_text(encoding="utf-8")
    assert committed == kb.export("turtle")


# ── dereferencing: every IRI of the graph answers on the service ────────────────────────────


@pytest.fixture(scope="module")
def server():
    from conftest import serving

    with serving() as base:
        yield base


def _local(iri: str) -> str:
    return iri.removeprefix("https://w3id.org")


@pytest.mark.parametrize(
    ("accept", "media", "fmt"),
    [
        ("text/turtle", "text/turtle; charset=utf-8", "turtle"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/rdf+xml", "application/rdf+xml", "xml"),
        ("application/n-triples", "application/n-triples", "nt"),
    ],
)
def test_an_iri_dereferences_to_rdf_by_accept(server, kb, accept, media, fmt):
    import httpx

    iri = kb.model.document.iri + "measure/KM7"
    got = httpx.get(server + _local(iri), headers={"Accept": accept})
    assert got.status_code == 200
    assert got.headers["content-type"] == media
    assert "Accept" in [v.strip() for v in got.headers["vary"].split(",")]
    graph = Graph().parse(data=got.text, format=fmt)
    subject = URIRef(iri)
    assert set(graph.predicate_objects(subject)) == set(kb.graph.predicate_objects(subject))


def test_an_iri_dereferences_to_html_for_a_browser(server, kb):
    import httpx

    iri = kb.model.document.iri + "benefit/KM7.rd_growth_reward"
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    got = httpx.get(server + _local(iri), headers={"Accept": browser})
    assert got.headers["content-type"] == "text/html; charset=utf-8"
    assert "研发费用增长奖励" in got.text
    assert "<script" not in got.text
    assert "/static/style.css?v=" in got.text  # the style sheet by its hash, cached like the pages'
    assert "default-src 'none'" in got.headers["content-security-policy"]
    criterion = _local(iri + "/criterion")
    assert f'href="{criterion}"' in got.text  # the graph's own IRIs link to here
    follow = httpx.get(server + criterion, headers={"Accept": "text/turtle"})
    assert follow.status_code == 200
    ontology = httpx.get(server + _local(ONTOLOGY_IRI), headers={"Accept": "text/turtle"})
    assert (URIRef(ONTOLOGY_IRI), RDF.type, OWL.Ontology) in Graph().parse(
        data=ontology.text, format="turtle"
    )
    missing = httpx.get(server + _local(kb.model.document.iri + "measure/KM99"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
