"""The rule language: the tree (:mod:`.tree`), its parser (:mod:`.parse`), the one generic walk
(:mod:`.walk`) and the arithmetic of unknowns (:mod:`.interval`)."""
