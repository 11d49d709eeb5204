"""Audit the pinned requirements (and what the venv actually installed) for known vulnerabilities.

pip-audit checks every `name==version` pin against the OSV database. The outcome decides the exit:

- a pin with a known vulnerability: exit 1, naming the package, the advisory and the fixed versions;
- every pin checked, none vulnerable: exit 0;
- the vulnerability service could not be reached (no network, DNS, outage): a loud warning and
  exit 0, because that says nothing about our pins and a CI that fails on network weather gets
  ignored. Set AUDIT_STRICT=1 (e.g. a nightly job with network) to make that a failure too.

OSV rather than pip-audit's default (PyPI's per-release JSON): on an unreachable or filtered PyPI
JSON API, pip-audit reports every package as "skipped" and still exits 0 with "No known
vulnerabilities found", a silent false pass. OSV fails loudly, and its URL can be pointed at a
local server (AUDIT_OSV_URL), which is how the test proves a vulnerable pin fails this step.

Usage: python .ci/audit.py [REQUIREMENTS_FILE ...] [--no-installed]
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_FILES = ["requirements.txt", "requirements-dev.txt", "requirements-bench.txt"]
PIN = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;#]+)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins_from(lines: list[str]) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in lines:
        match = PIN.match(line)
        if match:
            pins.setdefault(canonical(match.group(1)), f"{match.group(1)}=={match.group(3)}")
    return pins


def installed_pins() -> dict[str, str]:
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze", "--exclude-editable"],
        capture_output=True,
        text=True,
        check=True,
    )
    return pins_from(frozen.stdout.splitlines())


def run_pip_audit(requirements: Path, output: Path) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "pip_audit", "--requirement", str(requirements), "--no-deps", "--disable-pip",
        "--vulnerability-service", "osv", "--format", "json", "--output", str(output),
        "--progress-spinner", "off", "--timeout", os.environ.get("AUDIT_TIMEOUT", "15"),
    ]  # fmt: skip
    if os.environ.get("AUDIT_OSV_URL"):
        command += ["--osv-url", os.environ["AUDIT_OSV_URL"]]
    return subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own argv


def verdict(report: dict | None, stderr: str, *, strict: bool) -> tuple[int, list[str]]:
    """The exit code and the lines to print, from pip-audit's JSON report (None: it produced none)."""
    if report is None:
        reason = stderr.strip().splitlines()[-1] if stderr.strip() else "no report"
        lines = [
            "WARNING: vulnerability audit NOT performed: the service could not be reached.",
            f"  {reason}",
        ]
        return (1 if strict else 0), lines
    vulnerable = [dep for dep in report.get("dependencies", []) if dep.get("vulns")]
    skipped = [dep for dep in report.get("dependencies", []) if dep.get("skip_reason")]
    lines = []
    for dep in vulnerable:
        for vuln in dep["vulns"]:
            fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed release"
            lines.append(f"VULNERABLE: {dep['name']}=={dep['version']}: {vuln['id']} (fixed in: {fixed})")
    for dep in skipped:
        lines.append(f"WARNING: {dep['name']} not audited: {dep['skip_reason']}")
    checked = len(report.get("dependencies", [])) - len(skipped)
    if vulnerable:
        return 1, lines
    lines.append(f"No known vulnerabilities in {checked} pinned packages.")
    return (1 if strict and skipped else 0), lines


def main(argv: list[str]) -> int:
    files = [arg for arg in argv if not arg.startswith("--")] or DEFAULT_FILES
    pins: dict[str, str] = {}
    for name in files:
        pins.update(
            {k: v for k, v in pins_from((ROOT / name).read_text().splitlines()).items() if k not in pins}
        )
    if "--no-installed" not in argv:
        # Transitive dependencies as installed from those pins (pins from the files win).
        pins.update({k: v for k, v in installed_pins().items() if k not in pins})
    with tempfile.TemporaryDirectory() as tmp:
        requirements, output = Path(tmp, "pins.txt"), Path(tmp, "report.json")
        requirements.write_text("\n".join(sorted(pins.values())) + "\n")
        result = run_pip_audit(requirements, output)
        report = json.loads(output.read_text()) if output.exists() and output.stat().st_size else None
    code, lines = verdict(report, result.stderr, strict=os.environ.get("AUDIT_STRICT") == "1")
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
