"""Run mypy and hold the ratchet of `[tool.mypy]` in pyproject.toml.

pyproject.toml lists the modules that still have type errors in an override with
`ignore_errors = true`, so a plain `mypy` passes. This script runs mypy once with that override
left out and fails when
- a module that is not on the list has an error (a new error), or
- a module on the list has none (it is clean: take it off the list, so it stays clean).
So the list only shrinks. Usage: `python tools/mypy_ratchet.py` (what `make test` runs).
"""

import os
import sys
import tomllib
from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "var" / "mypy_ratchet.ini"
CACHE = "var/mypy_cache_ratchet"  # its own cache: other options than a plain `mypy` run


def _ini_value(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    return str(value)


def _config_without_ratchet(pyproject: dict) -> tuple[str, list[str]]:
    """mypy.ini text equivalent to `[tool.mypy]` minus the ignore_errors override."""
    mypy = dict(pyproject["tool"]["mypy"])
    overrides = mypy.pop("overrides", [])
    mypy["cache_dir"] = CACHE
    if isinstance(mypy.get("exclude"), list):
        mypy["exclude"] = "|".join(f"({pattern})" for pattern in mypy["exclude"])
    lines = ["[mypy]", *(f"{key} = {_ini_value(value)}" for key, value in mypy.items())]
    ratchet: list[str] = []
    for override in overrides:
        override = dict(override)
        modules = override.pop("module")
        modules = [modules] if isinstance(modules, str) else modules
        if override.get("ignore_errors"):
            ratchet.extend(modules)
            continue
        for module in modules:
            lines.append(f"[mypy-{module}]")
            lines.extend(f"{key} = {_ini_value(value)}" for key, value in override.items())
    plugin = pyproject["tool"].get("django-stubs", {})
    if plugin:
        lines.append("[mypy.plugins.django-stubs]")
        lines.extend(f"{key} = {_ini_value(value)}" for key, value in plugin.items())
    return "\n".join(lines) + "\n", ratchet


def _module_of(path: str) -> str:
    dotted = path.removesuffix(".py").replace("/", ".")
    return dotted.removesuffix(".__init__")


def main() -> int:
    os.chdir(ROOT)  # the paths in the config are relative to the repository root
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    text, ratchet = _config_without_ratchet(pyproject)
    CONFIG.parent.mkdir(exist_ok=True)
    CONFIG.write_text(text)
    stdout, stderr, status = api.run(["--config-file", str(CONFIG)])
    if status not in (0, 1):  # 2: mypy itself failed (bad config, crash)
        sys.stderr.write(stdout + stderr)
        return status
    listed = set(ratchet)
    new_errors: list[str] = []
    with_errors: set[str] = set()
    for line in stdout.splitlines():
        path, sep, rest = line.partition(":")
        if not sep or not path.endswith(".py"):
            continue
        module = _module_of(path)
        if " error: " in rest:
            with_errors.add(module)
        if module not in listed:
            new_errors.append(line)
    stale = sorted(listed - with_errors)
    report: list[str] = []
    if new_errors:
        report += new_errors
        report.append(f"mypy: errors in modules that are not on the ratchet ({len(new_errors)})")
    if stale:
        report.append("mypy: these modules are clean now; remove them from the ignore_errors")
        report.append("list in pyproject.toml so they stay clean: " + ", ".join(stale))
    if not report:
        report.append(f"mypy: no new errors; {len(listed)} modules still on the ratchet")
    sys.stdout.write("\n".join(report) + "\n")
    return 1 if new_errors or stale else 0


if __name__ == "__main__":
    sys.exit(main())
