"""measures.yaml → the validated policy model (and enterprise profiles checked against it).

The flow inside: :mod:`.yamlsource` (safe YAML 1.2 with positions) → :mod:`.structure` (the JSON
Schema, in words) → :mod:`.loader` with :mod:`.sections` and :mod:`.rulesets` (what a schema
cannot check; the conditions compiled into rule trees) → :mod:`.model` (frozen dataclasses).
:mod:`.profile` reads and checks an enterprise profile against the model's fact definitions.
"""

from .loader import load_model, parse_model
from .model import PolicyModel

__all__ = ["PolicyModel", "load_model", "parse_model"]
