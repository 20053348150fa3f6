"""The same rule tree executed elsewhere: per profile (:mod:`.trace`), over columns of many
enterprises (:mod:`.columns`), and by the OWL reasoner (:mod:`.owl`)."""
