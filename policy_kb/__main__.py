"""``python -m policy_kb`` is the ``policy-kb`` command."""

from ._cli import main

raise SystemExit(main())
