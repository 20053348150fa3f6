"""``python -m policy_kb`` is the ``policy-kb`` command."""

from .serve.cli import run

run()
