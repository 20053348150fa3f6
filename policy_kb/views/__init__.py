"""Views of the results: sentences (:mod:`.words`), the JSON contract (:mod:`.document`), terminal
tables (:mod:`.tables`) and the progress chart (:mod:`.chart`). Nothing here decides anything."""
