"""The doors to the outside: the command line (:mod:`.cli`), the HTTP service (:mod:`.http`, with
its models :mod:`.models` and the SPARQL workers :mod:`.sparql`) and the calculator pages
(:mod:`.pages`, assets in ``web/``). Everything below is reached through :mod:`policy_kb.api`."""
