"""The version of policy_kb (one place: the package, the CLI and the HTTP service read it)."""

__version__ = "0.2.0"
