"""From a profile to an answer: evaluation read off the compiled plan, the pre-check, the amounts,
near misses and the smallest change. Results are plain data (:mod:`.results`)."""
