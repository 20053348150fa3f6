"""The HTTP service, started for real on a loopback port: every endpoint and every refusal."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import free_port, serving
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate

from policy_kb.serve.http import Settings, create_app

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.yaml"))
PREFIXES = "PREFIX pkb: <https://w3id.org/policy-kb/ontology#> PREFIX dcterms: <http://purl.org/dc/terms/> PREFIX cpsv: <http://purl.org/vocab/cpsv#> "


@pytest.fixture(scope="module")
def server():
    env = {
        "POLICY_KB_SPARQL_TIMEOUT": "2",
        "POLICY_KB_SPARQL_MAX_ROWS": "1000",
        "POLICY_KB_SPARQL_MEMORY_MB": "300",
        "POLICY_KB_MAX_BATCH": "1000",
    }
    with serving(env=env) as base:
        yield base


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def openapi(http) -> dict[str, Any]:
    response = http.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def conforms(openapi: dict[str, Any], name: str, data: Any) -> list[str]:
    """Errors of ``data`` against the component schema ``name`` of the OpenAPI document."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": openapi["components"]}
    return [
        f"{list(e.absolute_path)}: {e.message}"
        for e in Draft202012Validator(schema).iter_errors(data)
    ]


def example_json(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# ── evaluation ───────────────────────────────────────────────────────────────────────────────


def test_health(http, openapi):
    response = http.get("/healthz")
    data = response.json()
    assert (data["status"], data["measures"], data["benefits"]) == ("ok", 12, 13)
    assert conforms(openapi, "Health", data) == []


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_evaluate_answers_the_cli_bytes(http, cli, openapi, example):
    body = json.dumps(example_json(example), ensure_ascii=False)
    response = http.post(
        "/v1/evaluate", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    printed = cli("match", "-", "--format", "json", stdin=body).stdout
    assert response.content == printed.encode("utf-8")
    assert conforms(openapi, "Evaluation", response.json()) == []


def test_evaluate_summary_detail_is_the_cli_bytes_and_documented(http, cli, openapi):
    body = json.dumps(example_json(EXAMPLES[0]), ensure_ascii=False)
    response = http.post("/v1/evaluate", params={"detail": "summary"}, content=body.encode())
    assert response.status_code == 200
    printed = cli("match", "-", "--format", "json", "--detail", "summary", stdin=body).stdout
    assert response.content == printed.encode("utf-8")
    assert response.json()["detail"] == "summary"
    assert conforms(openapi, "EvaluationSummary", response.json()) == []
    assert http.post("/v1/evaluate", params={"detail": "short"}, content=body).status_code == 422
    detail = next(
        p for p in openapi["paths"]["/v1/evaluate"]["post"]["parameters"] if p["name"] == "detail"
    )
    assert detail["schema"]["enum"] == ["full", "summary"]


def test_evaluate_with_year_and_language(http, cli):
    body = json.dumps({"tech_sme_registered": True, "rd_expense": 1_000_000})
    data = http.post("/v1/evaluate", params={"year": 2022, "lang": "en"}, content=body).json()
    assert data["year"] == 2022
    assert data["lang"] == "en"
    assert data["measures"][6]["title"] == "Lower the R&D costs of tech SMEs"
    assert (
        http.post("/v1/evaluate", params={"year": 2022, "lang": "en"}, content=body).content
        == cli(
            "match", "-", "--format", "json", "--year", "2022", "--lang", "en", stdin=body
        ).stdout.encode()
    )


def test_invalid_profile_gets_422_with_the_cli_message(http, cli, openapi):
    body = json.dumps({"employees": -5, "town": "湖塘"}, ensure_ascii=False)
    response = http.post("/v1/evaluate", content=body.encode())
    assert response.status_code == 422
    data = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert data["detail"] == cli("match", "-", stdin=body).stderr.strip()
    assert [i["fact"] for i in data["issues"]] == ["employees", "town"]
    english = http.post("/v1/evaluate", params={"lang": "en"}, content=body.encode()).json()
    assert english["detail"] == cli("match", "-", "--lang", "en", stdin=body).stderr.strip()
    assert conforms(openapi, "Problem", data) == []


@pytest.mark.parametrize(
    ("body", "status", "title"),
    [
        (b'{"employees": 10,}', 400, "malformed JSON"),
        (b"\xff\xfe", 400, "malformed JSON"),
        (b'{"a": NaN}', 400, "malformed JSON"),
        (b'{"employees": 1, "employees": 2}', 400, "malformed JSON"),
        (b"[1, 2]", 422, "profile refused"),
        (b'"hello"', 422, "profile refused"),
        (b'{"year": 2016}', 422, "year not supported"),
    ],
)
def test_bad_bodies(http, body, status, title):
    response = http.post("/v1/evaluate", content=body)
    assert response.status_code == status
    assert response.json()["title"] == title
    assert "Traceback" not in response.text


def test_bad_query_parameters(http):
    assert http.post("/v1/evaluate", params={"lang": "fr"}, content=b"{}").status_code == 422
    assert http.post("/v1/evaluate", params={"year": "abc"}, content=b"{}").status_code == 422


def test_body_size_limit(http):
    big = b'{"name": "' + b"x" * 1_100_000 + b'"}'
    response = http.post("/v1/evaluate", content=big)
    assert response.status_code == 413
    assert response.json()["detail"] == "请求体超过 1,000,000 字节"  # in the request's language
    english = http.post("/v1/evaluate", content=big, params={"lang": "en"})
    assert english.json()["detail"] == "the request body is larger than 1,000,000 bytes"


def test_streamed_body_over_the_limit_is_refused(server):
    def chunks():
        for _ in range(300):
            yield b" " * 10_000

    response = httpx.post(f"{server}/v1/evaluate", content=chunks(), timeout=30)
    assert response.status_code == 413


def test_batch_answers_each_profile_and_isolates_bad_ones(http, openapi):
    body = [{"tech_sme_registered": True}, {"employees": -1}, {"hnte_valid": "yes"}, {}]
    response = http.post("/v1/evaluate/batch", json=body)
    assert response.status_code == 200
    data = response.json()
    assert (data["count"], data["errors"]) == (4, 2)
    assert [r["ok"] for r in data["results"]] == [True, False, False, True]
    assert data["results"][1]["detail"] == "employees（职工总数）：应为不小于 0 人的数，实际为 -1"
    english = http.post("/v1/evaluate/batch", json=body, params={"lang": "en"}).json()
    assert (
        english["results"][1]["detail"]
        == "employees (Total employees): expected a number ≥ 0, got -1"
    )
    assert (
        "KM3.st_project_priority"
        in data["results"][0]["evaluation"]["summary"]["applicable_benefits"]
    )
    assert conforms(openapi, "BatchAnswer", data) == []


def test_batch_limits(http):
    not_list = http.post("/v1/evaluate/batch", json={"not": "a list"})
    assert not_list.status_code == 400
    assert not_list.json()["detail"] == "请求体应为企业信息的 JSON 数组"
    too_many = http.post("/v1/evaluate/batch", json=[{}] * 1001, params={"lang": "en"})
    assert too_many.status_code == 422
    assert too_many.json()["detail"] == "1,001 profiles; at most 1,000 in one request"


def test_fifty_concurrent_requests_equal_the_sequential_answers(server):
    profiles = [
        {
            "employees": 100 + i * 10,
            "annual_revenue": 1_000_000 * i,
            "total_assets": 2_000_000,
            "hnte_valid": i % 2 == 0,
            "tech_sme_registered": i % 3 == 0,
            "rd_expense": 100_000 * i,
            "rd_expense_prior_year": 50_000 * i,
            "rd_deduction_claimed": True,
            "rd_deduction_claimed_prior_year": i % 4 != 0,
            "incubated": i % 5 == 0,
        }
        for i in range(50)
    ]
    with httpx.Client(base_url=server, timeout=30) as client:
        sequential = [client.post("/v1/evaluate", json=p).content for p in profiles]

    async def together() -> list[bytes]:
        async with httpx.AsyncClient(
            base_url=server, timeout=60, limits=httpx.Limits(max_connections=50)
        ) as client:
            answers = await asyncio.gather(*(client.post("/v1/evaluate", json=p) for p in profiles))
        return [a.content for a in answers]

    concurrent = asyncio.run(together())
    assert concurrent == sequential
    assert len(set(sequential)) == 50


# ── the catalogue ────────────────────────────────────────────────────────────────────────────


def test_catalogue(http, openapi):
    data = http.get("/v1/measures").json()
    assert [m["id"] for m in data["measures"]] == [f"KM{i}" for i in range(1, 10)] + [
        "SM1",
        "SM2",
        "SM3",
    ]
    assert conforms(openapi, "Catalogue", data) == []
    km7 = http.get("/v1/measures/KM7").json()
    assert km7["number"] == "三(七)"
    assert "研发费用年度增长20万元（含）以上" in km7["text"]
    assert (
        km7["benefits"][1]["conditions"][-1] == "rd_expense_growth >= rd_growth_reward_min_increase"
    )
    assert conforms(openapi, "MeasureDetail", km7) == []
    benefit = http.get("/v1/benefits/KM7.rd_super_deduction", params={"lang": "en"}).json()
    assert [v["value"] for v in benefit["parameters"][0]["values"]] == [175, 200, 200]
    assert (
        benefit["estimate"]["cases"][0]["formula"] == "rd_expense * (rd_super_deduction_rate - 1)"
    )
    assert conforms(openapi, "BenefitDetail", benefit) == []


def test_unknown_ids_are_404_with_a_suggestion(http):
    response = http.get("/v1/measures/KM10")
    assert response.status_code == 404
    assert response.json()["detail"] == "未知的措施 'KM10'（是否应为 'KM1'？）"
    english = http.get("/v1/measures/KM10", params={"lang": "en"})
    assert english.json()["detail"] == "unknown measure 'KM10' (did you mean 'KM1'?)"
    assert http.get("/v1/benefits/KM7.rd_growth", params={"lang": "en"}).json()["detail"] == (
        "unknown benefit 'KM7.rd_growth' (did you mean 'KM7.rd_growth_reward'?)"
    )
    assert http.get("/v1/nowhere").status_code == 404


def test_facts_give_every_fact_once_by_form_group(http, openapi, kb):
    data = http.get("/v1/facts").json()
    assert conforms(openapi, "Facts", data) == []
    assert [g["name"] for g in data["groups"]] == [g.name for g in kb.model.fact_groups]
    ids = [f["id"] for g in data["groups"] for f in g["facts"]]
    assert sorted(ids) == sorted(kb.model.facts)  # derived facts are computed, not asked
    town = next(f for g in data["groups"] for f in g["facts"] if f["id"] == "town")
    assert [c["value"] for c in town["choices"]] == [t.name for t in kb.towns]
    english = http.get("/v1/facts", params={"lang": "en"}).json()
    assert english["groups"][0]["label"] == kb.model.fact_groups[0].label.en
    employees = next(f for g in english["groups"] for f in g["facts"] if f["id"] == "employees")
    assert employees == {
        "id": "employees",
        "label": "Total employees",
        "type": "count",
        "unit": "人",
        "min": 0,
        "max": 10_000_000,
        "help": None,
    }


def test_towns(http, openapi):
    data = http.get("/v1/towns").json()
    assert len(data["towns"]) == 11
    assert data["total"] == data["rows_sum"] == 670
    assert conforms(openapi, "Towns", data) == []
    town = http.get("/v1/towns/湖塘镇").json()
    assert town["town"]["target"] == 50
    assert [m["id"] for m in town["measures"] if m["status"] == "applies"] == ["SM2"]
    assert conforms(openapi, "Town", town) == []
    missing = http.get("/v1/towns/湖塘", params={"lang": "en"})
    assert missing.status_code == 404
    assert missing.json()["detail"] == "unknown town '湖塘' (did you mean '湖塘镇'?)"


# ── linked data ──────────────────────────────────────────────────────────────────────────────


def test_graph_by_accept(http):
    turtle = http.get("/v1/graph")
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert turtle.text.startswith("@prefix")
    jsonld = http.get("/v1/graph", headers={"accept": "application/ld+json"})
    assert jsonld.headers["content-type"] == "application/ld+json"
    assert "@graph" in jsonld.json()
    assert http.get("/v1/graph", headers={"accept": "image/png"}).status_code == 406


def test_sparql_select_lists_km7_benefits_with_their_clause_text(http):
    query = (
        PREFIXES
        + 'SELECT ?benefit ?quote WHERE { ?m dcterms:identifier "KM7" ; cpsv:produces ?b . ?b dcterms:identifier ?benefit ; pkb:quote ?quote ; pkb:order ?o } ORDER BY ?o'
    )
    response = http.get("/v1/sparql", params={"query": query})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/sparql-results+json")
    rows = response.json()["results"]["bindings"]
    assert [r["benefit"]["value"] for r in rows] == [
        "KM7.rd_super_deduction",
        "KM7.rd_growth_reward",
    ]


def test_sparql_forms_and_formats(http):
    ask = http.post(
        "/v1/sparql",
        content=PREFIXES + "ASK { ?m a pkb:KeyMeasure }",
        headers={"content-type": "application/sparql-query"},
    )
    assert ask.json()["boolean"] is True
    form = http.post(
        "/v1/sparql",
        data={"query": PREFIXES + "SELECT (COUNT(?m) AS ?n) WHERE { ?m a pkb:SafeguardMeasure }"},
    )
    assert form.json()["results"]["bindings"][0]["n"]["value"] == "3"
    construct = http.get(
        "/v1/sparql",
        params={
            "query": PREFIXES
            + "CONSTRUCT { ?t pkb:target ?n } WHERE { ?t a pkb:Town ; pkb:target ?n }"
        },
    )
    assert construct.headers["content-type"].startswith("text/turtle")
    assert construct.text.count("pkb:target") == 11
    as_jsonld = http.get(
        "/v1/sparql",
        params={
            "query": PREFIXES
            + "CONSTRUCT { ?t pkb:target ?n } WHERE { ?t a pkb:Town ; pkb:target ?n }"
        },
        headers={"accept": "application/ld+json"},
    )
    assert as_jsonld.headers["content-type"] == "application/ld+json"
    describe = http.get(
        "/v1/sparql",
        params={"query": "DESCRIBE <https://w3id.org/policy-kb/wujin-tech-sme-2021/measure/KM7>"},
    )
    assert describe.status_code == 200
    assert "三(七)" in describe.text
    csv = http.get(
        "/v1/sparql",
        params={
            "query": "SELECT ?s WHERE { ?s a <https://w3id.org/policy-kb/ontology#Town> } LIMIT 2"
        },
        headers={"accept": "text/csv"},
    )
    assert csv.text.splitlines()[0] == "s"
    assert (
        http.get(
            "/v1/sparql", params={"query": "ASK {}"}, headers={"accept": "image/png"}
        ).status_code
        == 406
    )


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", "updates are not allowed"),
        ("DELETE WHERE { ?s ?p ?o }", "updates are not allowed"),
        ("LOAD <http://example.org/data.ttl>", "updates are not allowed"),
        ("CLEAR ALL", "updates are not allowed"),
        ("CREATE GRAPH <urn:g>", "updates are not allowed"),
        ("DROP ALL", "updates are not allowed"),
        (
            "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }",
            "SERVICE is not allowed",
        ),
        ("SELECT * FROM <http://example.org/data.ttl> WHERE { ?s ?p ?o }", "FROM is not allowed"),
        (
            "SELECT * FROM NAMED <http://example.org/g> WHERE { GRAPH ?g { ?s ?p ?o } }",
            "FROM is not allowed",
        ),
        ("SELEKT * WHERE { ?s ?p ?o }", "query does not parse"),
        ("SELECT * WHERE { ?s ?p ?o }", "result too large"),
    ],
)
def test_sparql_refusals(http, query, title):
    response = http.get("/v1/sparql", params={"query": query})
    assert response.status_code == 400
    assert response.json()["title"] == title
    # the refusal does not harm the next query
    after = http.get("/v1/sparql", params={"query": PREFIXES + "ASK { ?m a pkb:KeyMeasure }"})
    assert after.json()["boolean"] is True


def next_queries_answer(http) -> None:
    """Three queries after a stopped one are answered: the pool has recovered."""
    for _ in range(3):
        after = http.get("/v1/sparql", params={"query": PREFIXES + "ASK { ?m a pkb:KeyMeasure }"})
        assert after.status_code == 200
        assert after.json()["boolean"] is True


def test_sparql_timeout_does_not_harm_the_next_query(http):
    slow = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
    started = time.perf_counter()
    response = http.get("/v1/sparql", params={"query": slow, "lang": "en"})
    assert response.status_code == 503
    assert response.json()["detail"] == "the query was stopped after 2 s"
    assert time.perf_counter() - started < 10
    next_queries_answer(http)


def test_sparql_query_that_exhausts_memory_is_a_400_and_the_worker_is_replaced(http):
    # 1.3 KB of text whose last value would be 16 × 2⁴⁰ characters: each BIND doubles a string
    binds = ['BIND("xxxxxxxxxxxxxxxx" AS ?v0)'] + [
        f"BIND(CONCAT(?v{i}, ?v{i}) AS ?v{i + 1})" for i in range(40)
    ]
    query = "SELECT ?v40 WHERE { " + " ".join(binds) + " }"
    started = time.perf_counter()
    response = http.get("/v1/sparql", params={"query": query})
    assert response.status_code == 400
    assert response.json()["title"] == "query needs too much memory"
    assert time.perf_counter() - started < 10
    next_queries_answer(http)


@pytest.mark.parametrize(
    "path",
    [
        "(!^rdfs:label)+",  # rdflib cannot negate an inverse path
        "!(rdfs:label|^rdf:type)",
    ],
)
def test_sparql_library_failures_are_a_400_in_words(http, path):
    query = (
        "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
        "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> "
        f"SELECT * WHERE {{ ?s {path} ?o }} LIMIT 3"
    )
    response = http.get("/v1/sparql", params={"query": query, "lang": "en"})
    assert response.status_code == 400
    body = response.json()
    assert body["title"] == "query failed"
    assert "negated property path" in body["detail"]
    chinese = http.get("/v1/sparql", params={"query": query}).json()["detail"]
    assert chinese.startswith("查询引擎无法求值这种否定属性路径")
    assert "Exception" not in body["detail"]
    assert "InversePath" not in body["detail"]


def test_sparql_internal_errors_and_large_answers_are_refused_in_words(kb):
    from policy_kb.serve.sparql import run_query

    class Broken:
        def query(self, _query):
            raise AssertionError("s1 == s")

    answer = run_query(Broken(), "SELECT * WHERE { ?s ?p ?o }", None, 10, lang="en")
    assert answer.status == 400
    detail = json.loads(answer.body)["detail"]
    assert "AssertionError" not in detail
    assert "s1 == s" not in detail
    assert detail.startswith("the query engine failed on this query")
    construct = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 200"
    answer = run_query(kb.graph, construct, None, 10_000, max_bytes=2_000)
    assert answer.status == 400
    assert json.loads(answer.body)["title"] == "result too large"
    assert "最多 2,000：请缩小查询" in json.loads(answer.body)["detail"]
    assert run_query(kb.graph, construct, None, 10_000).status == 200


def test_sparql_limit_and_offset_beyond_an_index_are_taken_as_that_many(kb):
    """LIMIT 99999999999999999999999 was a 400 quoting Python's islice() (found by a
    hostile-input review): the answer is what such a limit means."""
    from policy_kb.serve.sparql import run_query

    huge = "99999999999999999999999"
    every = run_query(kb.graph, "SELECT ?s WHERE { ?s a ?t }", None, 10_000)
    limited = run_query(kb.graph, f"SELECT ?s WHERE {{ ?s a ?t }} LIMIT {huge}", None, 10_000)
    assert limited.status == 200
    rows = json.loads(limited.body)["results"]["bindings"]
    assert len(rows) == len(json.loads(every.body)["results"]["bindings"]) > 0
    past = run_query(
        kb.graph, f"SELECT ?s WHERE {{ ?s a ?t }} OFFSET {huge} LIMIT {huge}", None, 10
    )
    assert past.status == 200
    assert json.loads(past.body)["results"]["bindings"] == []


def test_post_sparql_with_a_wrong_media_type(http):
    response = http.post("/v1/sparql", content=b"{}", headers={"content-type": "application/json"})
    assert response.status_code == 415


def test_sparql_takes_lang_as_every_route_does(http):
    """lang in the address or in a form's body; an unknown one refused (422), never replaced;
    lang alone is still a GET without a query: the service description."""
    bad = "SELEC ?s WHERE { ?s ?p ?o }"
    english = http.get("/v1/sparql", params={"query": bad, "lang": "en"}).json()["detail"]
    assert english.startswith("not a SPARQL 1.1 query")
    form = http.post("/v1/sparql", data={"query": bad, "lang": "en"}).json()["detail"]
    assert form.startswith("not a SPARQL 1.1 query")
    assert http.get("/v1/sparql", params={"query": bad}).json()["detail"] == (
        "不是 SPARQL 1.1 查询：第 1 行第 1 列附近语法有误：'SELEC ?s WHERE { ?s ?p ?o }'"
    )
    cut = http.get("/v1/sparql", params={"query": "SELECT ?s WHERE {", "lang": "en"}).json()
    assert cut["detail"] == (  # pyparsing's "Expected SelectQuery, found end of text" was quoted
        "not a SPARQL 1.1 query: the syntax is wrong near line 1, column 18: (the query ends"
        " here, with something still missing)"
    )
    deep = http.get("/v1/sparql", params={"query": "ASK {" + "{" * 3000 + "}" * 3000 + "}"})
    assert deep.status_code == 400
    assert "Recursion" not in deep.json()["detail"]
    refused = http.get("/v1/sparql", params={"query": bad, "lang": "fr"})
    assert refused.status_code == 422
    assert refused.json()["detail"] == "lang 为 'fr'，不可用：可选 'zh' 或 'en'"
    described = http.get("/v1/sparql", params={"lang": "en"})
    assert described.status_code == 200
    assert described.headers["content-type"].startswith("text/turtle")
    assert "policy_kb SPARQL endpoint (read-only)" in described.text


# ── the OpenAPI document, errors, CORS ───────────────────────────────────────────────────────


def test_openapi_validates_and_lists_every_endpoint(openapi):
    validate(openapi)
    paths = openapi["paths"]
    for path, method in [
        ("/v1/evaluate", "post"),
        ("/v1/evaluate/batch", "post"),
        ("/v1/measures", "get"),
        ("/v1/measures/{measure_id}", "get"),
        ("/v1/benefits/{benefit_id}", "get"),
        ("/v1/facts", "get"),
        ("/v1/towns", "get"),
        ("/v1/towns/{name}", "get"),
        ("/v1/sparql", "get"),
        ("/v1/sparql", "post"),
        ("/v1/graph", "get"),
        ("/healthz", "get"),
    ]:
        assert method in paths[path], (path, method)
    assert paths["/v1/evaluate"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ] == {"$ref": "#/components/schemas/Profile"}
    for name in (
        "Profile",
        "Evaluation",
        "Problem",
        "BatchAnswer",
        "Catalogue",
        "MeasureDetail",
        "BenefitDetail",
        "Towns",
        "Town",
        "Health",
    ):
        assert name in openapi["components"]["schemas"]
    assert "employees" in openapi["components"]["schemas"]["Profile"]["properties"]


def test_errors_never_carry_a_traceback():
    app = create_app(Settings(sparql_workers=1))
    with TestClient(app, raise_server_exceptions=False) as client:

        def broken(*_args: Any, **_kwargs: Any) -> Any:
            raise RuntimeError("boom: internal detail")

        app.state.kb.evaluate = broken  # type: ignore[method-assign]
        response = client.post("/v1/evaluate", content=b'{"employees": 77}')
    assert response.status_code == 500
    assert response.json() == {
        "type": "about:blank",
        "status": 500,
        "title": "internal error",
        "detail": "服务无法回答此请求，已记录在日志中",
    }
    assert "boom" not in response.text


def test_cors_is_off_by_default_and_configurable():
    with TestClient(create_app(Settings(sparql_workers=1))) as client:
        response = client.get("/healthz", headers={"origin": "https://portal.example"})
        assert "access-control-allow-origin" not in response.headers
    with TestClient(
        create_app(Settings(sparql_workers=1, cors_origins=("https://portal.example",)))
    ) as client:
        response = client.get("/healthz", headers={"origin": "https://portal.example"})
        assert response.headers["access-control-allow-origin"] == "https://portal.example"


def test_serve_refuses_a_broken_measures_file(tmp_path, cli):
    bad = tmp_path / "m.yaml"
    bad.write_text("document: [\n", encoding="utf-8")
    result = cli("serve", "--measures", str(bad), "--port", str(free_port()), "--lang", "en")
    assert result.returncode == 2
    assert result.stderr.startswith(f"{bad}:2:1: YAML syntax error")


@pytest.mark.parametrize(
    ("body", "fact"),
    [
        ('{"rd_expense": 3.9e307}', "rd_expense"),
        ('{"employees": 10000000000000000000000000000000}', "employees"),
        ('{"annual_revenue": 1000000000000000000000000000000}', "annual_revenue"),
        ('{"hnte_valid": "yes"}', "hnte_valid"),
    ],
)
def test_numbers_out_of_range_are_a_clear_422_not_a_500(http, body, fact):
    response = http.post(
        "/v1/evaluate",
        params={"lang": "en"},
        content=body,
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert fact in response.text


def test_yes_no_in_chinese_is_read_over_http_too(http):
    response = http.post(
        "/v1/evaluate",
        content='{"hnte_valid": "是"}'.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["profile"]["facts"]["hnte_valid"] is True


@pytest.mark.parametrize(
    "ctype", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]
)
def test_a_body_that_is_not_json_is_415(http, ctype):
    for route in ("/v1/evaluate", "/v1/evaluate/batch"):
        response = http.post(route, content=b'{"employees": 5}', headers={"content-type": ctype})
        assert response.status_code == 415, route
        assert response.headers["content-type"].startswith("application/problem+json")
        assert ctype.split(";")[0] in response.json()["detail"]


def test_a_compressed_body_or_another_charset_is_415_naming_it(http):
    """A gzip body was refused as "not UTF-8 text" (400), and charset=utf-16 was read as UTF-8
    without a word (found by a hostile-input review): each is a 415 that names it."""
    import gzip

    body = b'{"employees": 5}'
    for route in ("/v1/evaluate", "/v1/evaluate/batch"):
        sent = b"[" + body + b"]" if route.endswith("batch") else body
        zipped = http.post(
            route + "?lang=en",
            content=gzip.compress(sent),
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
        assert zipped.status_code == 415, route
        assert zipped.json()["detail"] == (
            "the body is sent with the content encoding gzip (compressed): send plain JSON"
        )
        other = http.post(
            route, content=sent, headers={"content-type": "application/json; charset=utf-16"}
        )
        assert other.status_code == 415, route
        assert other.json()["detail"] == "请求体的字符集声明为 utf-16：请以 UTF-8 发送"
        for declared in ('application/json; charset="UTF-8"', "application/json;charset=us-ascii"):
            fine = http.post(route, content=sent, headers={"content-type": declared})
            assert fine.status_code == 200, (route, declared)
        bare = http.post(route, content=sent, headers={"content-encoding": ""})
        assert bare.status_code == 200, route  # an empty coding is none


def test_healthz_answers_quickly_while_a_large_batch_runs(server):
    import threading
    import time

    profiles = [
        {"employees": 50 + i, "annual_revenue": 1_000_000 * (i % 50), "hnte_valid": i % 2 == 0}
        for i in range(1000)
    ]
    body = json.dumps(profiles).encode()
    done = threading.Event()
    status: list[int] = []

    def batch() -> None:
        with httpx.Client(base_url=server, timeout=120) as client:
            status.append(
                client.post(
                    "/v1/evaluate/batch", content=body, headers={"content-type": "application/json"}
                ).status_code
            )
        done.set()

    worker = threading.Thread(target=batch)
    worker.start()
    time.sleep(0.3)  # the batch is being answered
    waits = []
    with httpx.Client(base_url=server, timeout=30) as client:
        while not done.is_set() and len(waits) < 20:
            start = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            waits.append(time.perf_counter() - start)
            time.sleep(0.05)
    worker.join()
    assert status == [200]
    assert waits, "the batch finished before /healthz was asked"
    assert max(waits) <= 0.1, waits


def test_no_header_is_reflected_into_a_redirect(http):
    response = http.get("/v1/measures/", headers={"host": "evil.example"}, follow_redirects=False)
    assert response.status_code == 404
    assert "location" not in response.headers
    assert "evil.example" not in response.text
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_plain_path_answers_as_the_application_does(server):
    """POST /v1/evaluate is answered before the framework's routing when nothing is unusual; a
    parameter name written percent-encoded (``l%61ng``, which the plain path does not decode)
    sends the same request through the application: same bytes, same headers. Refusals and
    limits are still the application's own answers."""
    body = json.dumps(example_json(EXAMPLES[1]), ensure_ascii=False).encode()
    with httpx.Client(base_url=server, timeout=30) as client:
        for params in ({}, {"lang": "en"}, {"detail": "summary", "year": "2022"}):
            plain = client.post("/v1/evaluate", params=params, content=body)
            spelled = {"lang": "zh", **params}
            query = "&".join(f"%{ord(k[0]):02x}{k[1:]}={v}" for k, v in spelled.items())
            routed = client.post(f"/v1/evaluate?{query}", content=body)
            assert plain.status_code == routed.status_code == 200
            assert plain.content == routed.content
            assert plain.headers.items() - {("date", plain.headers["date"])} == (
                routed.headers.items() - {("date", routed.headers["date"])}
            )
        refused = client.post("/v1/evaluate", content=b'{"employees": -1}')
        assert refused.status_code == 422
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["issues"][0]["fact"] == "employees"
        twice = client.post("/v1/evaluate?lang=en&lang=zh", content=body)
        assert twice.status_code == 422  # the last value was read: a silent guess
        assert twice.json()["detail"] == "查询参数 'lang' 给了不止一次：每个参数只能给一次"
        misspelt = client.post("/v1/evaluate?yeer=2022&lang=en", content=body)
        assert misspelt.status_code == 422  # it was answered for 2021, as if not given
        assert misspelt.json()["detail"] == (
            "this address takes no query parameter 'yeer'; it takes: year, lang, detail"
        )
        assert client.get("/v1/measures/KM7?lang=en&detail=x").status_code == 422
        assert client.get("/v1/sparql", params={"query": "ASK {}"}).status_code == 200
        # a year is four digits, as a profile writes it: each of these was read as 2022
        for written in ("2_022", "2022.0", "%202022", "2022%0A", "0002022", "%EF%BC%92022"):
            loose = client.post(f"/v1/evaluate?year={written}&lang=en", content=body)
            assert loose.status_code == 422, written
            assert loose.json()["detail"].endswith(", not a year of four digits (2021)")


def _raw(server: str, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes to the server; the status, headers and body it answers."""
    import socket
    from urllib.parse import urlsplit

    where = urlsplit(server)
    with socket.create_connection((where.hostname, where.port), timeout=10) as conn:
        conn.sendall(request)
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split()[1]), {k.lower(): v for k, v in headers.items()}, body


@pytest.mark.parametrize("size", [40_000, 200_000, 2_000_000])
def test_a_very_long_url_is_a_414_problem_in_json(server, size):
    request = b"GET /v1/sparql?query=" + b"a" * size + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, headers, body = _raw(server, request)
    assert status == 414
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 414
    assert problem["title"] == "URI too long"
    assert problem["detail"].startswith("请求地址超过 32,768 字节")
    english = b"GET /v1/sparql?lang=en&query=" + b"a" * size + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, _, body = _raw(server, english)
    assert status == 414
    assert json.loads(body)["detail"].startswith("the request URL is longer than 32,768 bytes")


def test_a_request_that_is_not_http_is_a_400_problem_in_json(server):
    status, headers, body = _raw(server, b"GARBAGE\r\n\r\n")
    assert status == 400
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["title"] == "bad request"


# ── HTTP hygiene: compression, validators, HEAD, Allow, cached assets ───────────────────────


def test_answers_are_compressed_for_a_client_that_accepts_gzip(http, cli):
    profile = example_json(EXAMPLES[0])
    plain = http.post("/v1/evaluate", json=profile, headers={"Accept-Encoding": "identity"})
    packed = http.post("/v1/evaluate", json=profile, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert packed.headers["content-encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["vary"]
    assert int(packed.headers["content-length"]) * 4 < len(plain.content)  # ≥ 4× smaller
    assert packed.content == plain.content  # the same answer once decompressed
    for path in ("/v1/measures", "/static/app.js", "/v1/graph"):
        assert http.get(path, headers={"Accept-Encoding": "gzip"}).headers["content-encoding"] == (
            "gzip"
        ), path


@pytest.mark.parametrize("encoding", ["gzip", "identity"])
def test_a_get_revalidates_with_its_etag(http, encoding):
    for path in ("/v1/measures/KM7?lang=en", "/v1/graph", "/", "/static/style.css", "/v1/facts"):
        first = http.get(path, headers={"Accept-Encoding": encoding})
        assert first.status_code == 200, path
        tag = first.headers["etag"]
        assert tag.startswith('"'), path  # strong: no W/ prefix
        again = http.get(path, headers={"Accept-Encoding": encoding, "If-None-Match": tag})
        assert again.status_code == 304, path
        assert again.content == b""
        assert again.headers["etag"] == tag
        other = http.get(path, headers={"Accept-Encoding": encoding, "If-None-Match": '"x"'})
        assert other.status_code == 200, path
    # another request, another answer, another tag; the compressed form has its own tag
    zh, en = http.get("/v1/measures/KM7?lang=zh"), http.get("/v1/measures/KM7?lang=en")
    assert zh.headers["etag"] != en.headers["etag"]
    packed = http.get("/v1/measures", headers={"Accept-Encoding": "gzip"})
    plain = http.get("/v1/measures", headers={"Accept-Encoding": "identity"})
    assert packed.headers["etag"] != plain.headers["etag"]


def test_head_works_wherever_get_does(http):
    for path in ("/", "/healthz", "/v1/graph", "/v1/measures", "/targets", "/static/favicon.svg"):
        got = http.get(path, headers={"Accept-Encoding": "identity"})
        head = http.head(path, headers={"Accept-Encoding": "identity"})
        assert head.status_code == 200, path
        assert head.content == b""
        assert head.headers["content-length"] == str(len(got.content)), path
        assert head.headers["content-type"] == got.headers["content-type"], path


def test_a_wrong_method_says_which_are_allowed(http):
    refused = http.put("/v1/measures", params={"lang": "en"})
    assert refused.status_code == 405
    assert refused.headers["allow"] == "GET, HEAD"
    assert refused.json()["detail"] == "PUT is not allowed here; this address answers GET, HEAD"
    assert http.put("/v1/measures").json()["detail"] == "此地址不接受 PUT，可用的方法：GET, HEAD"
    assert refused.headers["content-type"] == "application/problem+json"
    assert http.get("/v1/evaluate").headers["allow"] == "POST"


def test_assets_are_cached_for_a_year_by_their_hash_and_revalidated_otherwise(http):
    html = http.get("/").text
    found = dict(re.findall(r'"/static/([a-z.]+)\?v=([0-9a-f]{16})"', html))
    assert set(found) == {"app.js", "style.css", "favicon.svg", "words.js"}
    for name, version in found.items():
        body = http.get(f"/static/{name}?v={version}")
        assert body.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert version == hashlib.sha256(body.content).hexdigest()[:16]
        assert "default-src 'none'" in body.headers["content-security-policy"]
        assert http.get(f"/static/{name}").headers["cache-control"] == "no-cache"
        assert http.get(f"/static/{name}?v=0000").headers["cache-control"] == "no-cache"
    assert http.get("/").headers["cache-control"] == "no-cache"


def test_the_pages_sentences_come_from_the_message_catalogue(http):
    """The calculator page kept a second catalogue of 117 sentences in app.js, some already
    drifted from the catalogue's (found by a code review): /static/words.js is made from the
    catalogue's web.* keys, and every key app.js asks for is there in both languages."""
    import json as _json

    from policy_kb.text import catalogue

    body = http.get("/static/words.js").text
    prefix = "window.POLICY_KB_WORDS = "
    assert body.startswith(prefix)
    words = _json.loads(body[len(prefix) :].rstrip().rstrip(";"))
    for lang in ("zh", "en"):
        assert words[lang] == {k[4:]: v for k, v in catalogue(lang).items() if k.startswith("web.")}
    script = (ROOT / "policy_kb" / "serve" / "web" / "app.js").read_text("utf-8")
    asked = set(re.findall(r'\bt\("([a-z_]+)"', script))
    assert len(asked) > 80
    whole = {k for k in asked if not k.endswith("_")}  # t("status_" + status): a family
    assert whole - set(words["zh"]) == set()
    for family in asked - whole:
        assert any(k.startswith(family) for k in words["zh"]), family
    assert "const WORDS = window.POLICY_KB_WORDS" in script
    assert "skip_content:" not in script  # no sentence of the page left in the script


# ── SPARQL 1.1 Protocol, as the standard clients use it ─────────────────────────────────────

_P = "PREFIX dcterms: <http://purl.org/dc/terms/> "
_SELECT = (
    _P
    + "SELECT ?id WHERE { ?m a <http://data.europa.eu/eli/ontology#LegalResource> ; dcterms:identifier ?id }"
)
_QUERIES = {
    "select": _P + "SELECT ?id WHERE { ?m dcterms:identifier ?id } ORDER BY ?id LIMIT 3",
    "ask": _P + 'ASK { ?m dcterms:identifier "KM7" }',
    "construct": _P
    + "CONSTRUCT { ?m dcterms:identifier ?id } WHERE { ?m dcterms:identifier ?id } LIMIT 3",
    "describe": _P + 'DESCRIBE ?m WHERE { ?m dcterms:identifier "KM7" }',
}


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_in_its_default_settings_gets_every_query_form(server, kb, method):
    from rdflib import Graph
    from SPARQLWrapper import GET, POST, SPARQLWrapper

    answers = {}
    for form, text in _QUERIES.items():
        client = SPARQLWrapper(server + "/v1/sparql")  # default return format: XML / RDF/XML
        client.setMethod(GET if method == "GET" else POST)
        client.setQuery(text)
        answers[form] = client.query().convert()
    ids = [
        b.getElementsByTagName("literal")[0].firstChild.data
        for b in answers["select"].getElementsByTagName("result")
    ]
    local = [str(r.id) for r in kb.graph.query(_QUERIES["select"])]
    assert ids == local
    assert answers["ask"].getElementsByTagName("boolean")[0].firstChild.data == "true"
    assert isinstance(answers["construct"], Graph)
    assert len(answers["construct"]) == 3
    assert len(answers["describe"]) == len(kb.graph.query(_QUERIES["describe"]).graph)


@pytest.mark.parametrize("method", ["GET", "POST", "POST_FORM"])
def test_rdflib_sparqlstore_in_its_default_settings_gets_every_query_form(server, kb, method):
    from rdflib import Graph
    from rdflib.plugins.stores.sparqlstore import SPARQLStore

    remote = Graph(store=SPARQLStore(server + "/v1/sparql", method=method))
    assert [str(r.id) for r in remote.query(_QUERIES["select"])] == [
        str(r.id) for r in kb.graph.query(_QUERIES["select"])
    ]
    assert remote.query(_QUERIES["ask"]).askAnswer is True
    assert len(remote.query(_QUERIES["construct"]).graph) == 3
    described = remote.query(_QUERIES["describe"]).graph
    assert set(described) == set(kb.graph.query(_QUERIES["describe"]).graph)


def test_sparql_tsv_and_rdf_xml(http, kb):
    query = (
        _P
        + "SELECT ?id ?t WHERE { ?m dcterms:identifier ?id ; dcterms:title ?t } ORDER BY ?id ?t LIMIT 4"
    )
    tsv = http.get(
        "/v1/sparql", params={"query": query}, headers={"Accept": "text/tab-separated-values"}
    )
    assert tsv.headers["content-type"] == "text/tab-separated-values; charset=utf-8"
    lines = tsv.text.splitlines()
    assert lines[0] == "?id\t?t"
    expected = [
        f'"{r.id}"\t"{r.t}"' + (f"@{r.t.language}" if r.t.language else "")
        for r in kb.graph.query(query)
    ]
    assert lines[1:] == expected
    xml = http.get(
        "/v1/sparql",
        params={"query": _QUERIES["construct"]},
        headers={"Accept": "application/rdf+xml"},
    )
    assert xml.headers["content-type"] == "application/rdf+xml"
    from rdflib import Graph

    assert len(Graph().parse(data=xml.text, format="xml")) == 3
    whole = http.get("/v1/graph", headers={"Accept": "application/rdf+xml"})
    assert len(Graph().parse(data=whole.text, format="xml")) == len(kb.abox)


@pytest.mark.parametrize(
    ("accept", "status", "media"),
    [
        ("*/*", 200, "application/sparql-results+json"),
        (
            "application/sparql-results+json;q=0, application/sparql-results+xml",
            200,
            "application/sparql-results+xml",
        ),
        ("application/sparql-results+json;q=0, */*;q=0.1", 200, "application/sparql-results+xml"),
        ("text/*", 200, "text/csv; charset=utf-8"),  # a text format for SELECT …
        ("image/png", 406, "application/problem+json"),
        ("application/sparql-results+json;q=0", 406, "application/problem+json"),
    ],
)
def test_sparql_negotiation_follows_rfc_9110(http, accept, status, media):
    got = http.get("/v1/sparql", params={"query": _QUERIES["select"]}, headers={"Accept": accept})
    assert got.status_code == status, got.text
    assert got.headers["content-type"] == media
    assert "Accept" in [v.strip() for v in got.headers["vary"].split(",")]


def test_an_ask_as_csv_is_not_acceptable_and_text_star_gets_no_json(http):
    for accept in ("text/csv", "text/*", "text/tab-separated-values"):  # … but ASK has none
        got = http.get("/v1/sparql", params={"query": "ASK {}"}, headers={"Accept": accept})
        assert got.status_code == 406, accept
        assert got.headers["content-type"] == "application/problem+json"
    graph = http.get(
        "/v1/sparql", params={"query": _QUERIES["construct"]}, headers={"Accept": "text/*"}
    )
    assert graph.headers["content-type"] == "text/turtle; charset=utf-8"


def test_sparql_dataset_parameters_and_repeated_queries_are_refused(http):
    for name in ("default-graph-uri", "named-graph-uri"):
        got = http.get("/v1/sparql", params={"query": "ASK {}", name: "http://example.org/g"})
        assert got.status_code == 400
        assert got.json()["title"] == "dataset not supported"
        got = http.post("/v1/sparql", data={"query": "ASK {}", name: "http://example.org/g"})
        assert got.status_code == 400
    twice = http.get("/v1/sparql", params=[("query", "ASK {}"), ("query", "ASK {}")])
    assert twice.status_code == 400
    assert twice.json()["title"] == "more than one query"


def test_sparql_service_description(http):
    from rdflib import Graph, Namespace, URIRef

    sd = Namespace("http://www.w3.org/ns/sparql-service-description#")
    got = http.get("/v1/sparql")
    assert got.headers["content-type"] == "text/turtle; charset=utf-8"
    endpoint = str(http.base_url).rstrip("/") + "/v1/sparql"
    graph = Graph().parse(data=got.text, format="turtle", publicID=endpoint)
    service = graph.value(predicate=sd.endpoint, object=URIRef(endpoint))
    assert service is not None
    assert (service, sd.supportedLanguage, sd.SPARQL11Query) in graph
    formats = {str(f).rsplit("/", 1)[1] for f in graph.objects(service, sd.resultFormat)}
    assert {"SPARQL_Results_TSV", "RDF_XML", "SPARQL_Results_JSON"} <= formats


def test_a_batch_answers_at_the_detail_asked_for(http, openapi):
    """?detail was ignored by the batch route: a summary batch came back as full documents
    (80 MB for 1,000 profiles instead of ~4 MB) and ?detail=bogus was not refused."""
    body = [{"tech_sme_registered": True}, {"employees": -1}]
    summary = http.post("/v1/evaluate/batch", json=body, params={"detail": "summary"})
    assert summary.status_code == 200
    data = summary.json()
    first = data["results"][0]["evaluation"]
    assert first["detail"] == "summary"
    single = http.post("/v1/evaluate", json=body[0], params={"detail": "summary"}).json()
    assert first == single
    assert data["results"][1]["ok"] is False
    assert conforms(openapi, "BatchAnswer", data) == []
    assert http.post("/v1/evaluate/batch", json=body, params={"detail": "bogus"}).status_code == 422


def test_a_lone_surrogate_is_refused_for_its_item_not_the_whole_batch(http):
    """JSON's "\\ud800" escape is no text UTF-8 can carry: it was a 500 (orjson could not write
    the answer) and lost every profile of a batch."""
    raw = b'{"name": "\\ud800"}'
    one = http.post("/v1/evaluate", content=raw, headers={"content-type": "application/json"})
    assert one.status_code == 422
    assert "\\ud800" in one.json()["detail"]
    batch = b'[{"employees": 5}, {"name": "\\ud800"}, {"foo\\ud800": 1}]'
    answer = http.post(
        "/v1/evaluate/batch", content=batch, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 200
    data = answer.json()
    assert [r["ok"] for r in data["results"]] == [True, False, False]
    assert "\\ud800" in data["results"][1]["detail"]
    assert "foo\\ud800" in data["results"][2]["detail"]


def test_a_refused_query_parameter_is_said_in_the_requests_language(http):
    """pydantic's English ('Input should be ...') was the detail in every language."""
    cases = [
        ({"detail": "bogus"}, "query.detail 为 'bogus'，不可用：可选 'full' 或 'summary'"),
        ({"year": "abc"}, "query.year 为 'abc'，不是四位数字的年份（如 2021）"),
        (
            {"year": "abc", "lang": "en"},
            "query.year is 'abc', not a year of four digits (2021)",
        ),
        (
            {"lang": "fr"},
            "query.lang 为 'fr'，不可用：可选 'zh' 或 'en'",
        ),
    ]
    for params, detail in cases:
        response = http.post("/v1/evaluate", json={}, params=params)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["detail"] == detail
