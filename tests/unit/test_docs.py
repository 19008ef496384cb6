"""The README tells the truth: every finding code is documented, the quick start is real."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
AREAS = (
    "mode|hostname|ip|listen|dns|cert|key|upstream|nginx|selinux|firewall|secrets|proxy|install"
    "|acme|caa"
)
CODE = re.compile(rf'"((?:{AREAS})\.[a-z0-9_]+)"')
# Strings of that shape in the sources that are not finding codes.
NOT_CODES = {
    "dns.asyncresolver",
    "dns.asyncquery",
    "nginx.conf",
    "nginx.pid",
    "dns.exception",
    "cert.pem",
    "install.sh",
}


def _codes_in_sources() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "wizard").rglob("*.py"):
        found |= set(CODE.findall(path.read_text(encoding="utf-8")))
    return found - NOT_CODES


def test_every_finding_code_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    documented = set(re.findall(rf"`((?:{AREAS})\.[a-z0-9_]+)`", readme))
    codes = _codes_in_sources()
    assert len(codes) > 100
    assert sorted(codes - documented) == []
    assert sorted(documented - codes - NOT_CODES) == []


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "./dev test" in readme
    assert "./dev demo" in readme
    assert "./dev test" in ci
