"""Build hook: compiles the column back-end's machine (``policy_kb/backends/_vm.c``).

Hatchling runs this for every wheel, editable ones included. The extension is compiled in place,
beside its source, so that a checkout installed with ``pip install -e .`` — or tested from its
own folder — imports it from there; the wheel carries the same file. It needs a C compiler
(``cc``, or the one named by ``CC``) and Python's headers, as any package with C code does.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sysconfig
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

SOURCE = Path("policy_kb") / "backends" / "_vm.c"
FLAGS = [
    "-O3",
    "-std=gnu11",
    "-fPIC",
    "-shared",
    "-fno-strict-aliasing",
    # the same double arithmetic as numpy and the per-profile engine: no fused multiply-add;
    # floating-point exceptions are never read, so loops may be vectorised around floor() and
    # conditional operations (neither flag changes a result)
    "-ffp-contract=off",
    "-fno-trapping-math",
    "-fno-math-errno",
    "-fvisibility=hidden",
    "-Wall",
]


def compile_extension(root: Path) -> Path:
    """Compile the machine into ``policy_kb/backends/_vm<suffix>`` under ``root``; its path."""
    source = root / SOURCE
    target = source.with_name("_vm" + str(sysconfig.get_config_var("EXT_SUFFIX")))
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")
    include = sysconfig.get_paths()["include"]
    command = [*compiler, *FLAGS, f"-I{include}", str(source), "-o", str(target)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise RuntimeError(
            f"policy_kb needs a C compiler to build its column back-end: {compiler[0]!r} was "
            "not found (install gcc, or name one in CC)"
        ) from None
    if done.returncode != 0:
        raise RuntimeError(
            "policy_kb: compiling its column back-end failed:\n"
            + " ".join(command)
            + "\n"
            + done.stderr
        )
    return target


class NativeBuildHook(BuildHookInterface):  # type: ignore[misc]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        root = Path(self.root)
        target = compile_extension(root)
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        build_data.setdefault("force_include", {})[str(target)] = str(target.relative_to(root))
