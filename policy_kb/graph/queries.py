"""Structural questions answered by SPARQL over the knowledge graph.

These are the questions whose answer is a walk over the graph — the measures of a part, the
benefits of a measure, the towns and their targets — asked the way any other SPARQL tool
would ask them. Queries are prepared once and reused.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from rdflib import Graph, Literal
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.sparql import Query

from .vocab import PREFIXES

MEASURES_OF_PART = """
SELECT ?id ?number ?title_zh ?title_en ?kind WHERE {
    ?measure a ?kind ;
             dcterms:identifier ?id ;
             pkb:number ?number ;
             pkb:order ?order ;
             cv:hasLegalResource/eli:is_part_of ?part .
    ?kind rdfs:subClassOf pkb:Measure .
    ?part pkb:number ?partNumber .
    OPTIONAL { ?measure dcterms:title ?title_zh . FILTER(lang(?title_zh) = "zh") }
    OPTIONAL { ?measure dcterms:title ?title_en . FILTER(lang(?title_en) = "en") }
}
ORDER BY ?order
"""

BENEFITS_OF_MEASURE = """
SELECT ?id ?title_zh ?title_en ?quote ?kind WHERE {
    ?measure dcterms:identifier ?measureId ;
             cpsv:produces ?benefit .
    ?benefit dcterms:identifier ?id ;
             a ?kind ;
             pkb:order ?order ;
             pkb:quote ?quote .
    ?kind rdfs:subClassOf pkb:Benefit .
    OPTIONAL { ?benefit dcterms:title ?title_zh . FILTER(lang(?title_zh) = "zh") }
    OPTIONAL { ?benefit dcterms:title ?title_en . FILTER(lang(?title_en) = "en") }
}
ORDER BY ?order
"""

TOWN_TARGETS = """
SELECT ?seq ?name ?name_en ?target ?total WHERE {
    ?town a pkb:Town ;
          pkb:sequence ?seq ;
          pkb:target ?target ;
          pkb:inTable ?table ;
          rdfs:label ?name .
    ?table pkb:printedTotal ?total .
    FILTER(lang(?name) = "zh")
    OPTIONAL { ?town rdfs:label ?name_en . FILTER(lang(?name_en) = "en") }
}
ORDER BY ?seq
"""


def _python(term: Any) -> Any:
    return None if term is None else term.toPython()


@cache
def prepared(text: str) -> Query:
    """A prepared query (parsed once per process; prepared queries are not changed by use)."""
    return prepareQuery(text, initNs=PREFIXES)


def select(graph: Graph, text: str, **bindings: Any) -> list[dict[str, Any]]:
    """Run a SELECT query and return one dict per row, with Python values."""
    init = {k: v if not isinstance(v, str) else Literal(v) for k, v in bindings.items()}
    result = graph.query(prepared(text), initBindings=init)
    names = [str(v) for v in result.vars or []]
    out = []
    for row in result:
        bound = row.asdict()  # type: ignore[union-attr]
        out.append({name: _python(bound.get(name)) for name in names})
    return out
