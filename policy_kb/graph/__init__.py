"""The knowledge graph: the vocabularies (:mod:`.vocab`), the RDF generated from the model
(:mod:`.rdf`) and the structural questions asked of it by SPARQL (:mod:`.queries`)."""
