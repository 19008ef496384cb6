"""The wheel carries the templates and works from a fresh virtual environment.

Builds the wheel from this checkout, installs it into a new venv and renders the
files there, far from the repository's ``templates/``. No package index is
reachable from a test: the venv sees this venv's dependencies through a ``.pth``
file (tests/offline_wheel.py) and pip installs the wheel with ``--no-index``, so
the project itself comes only from the wheel.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.offline_wheel import build_wheel, dependencies_dir, see_dependencies

ANSWERS = """
mode = "slack+msteams"
[bastion]
hostname = "bastion-host.my-company.com"
public_ip = "203.0.113.10"
certificate = "/etc/letsencrypt/live/bastion-host.my-company.com/fullchain.pem"
private_key = "/etc/letsencrypt/live/bastion-host.my-company.com/privkey.pem"
[codestream]
api_url = "https://codestream.my-company.com"
"""


def _run(*argv: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in argv], capture_output=True, text=True, cwd=cwd, timeout=540, check=False
    )


def test_wheel_contains_templates_and_renders_from_a_fresh_venv(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "wizard/templates/nginx-server.conf.j2" in names
    assert "wizard/templates/next-steps.md.j2" in names
    assert "wizard/tui/wizard.tcss" in names
    assert "wizard/tui/screens/welcome.py" in names
    assert "wizard/tui/widgets/field.py" in names
    # demo --web's own page (no other host named in it) ships with the package.
    assert "wizard/web/templates/app_index.html" in names
    assert "wizard/web/templates/full.html" in names

    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    see_dependencies(venv, dependencies_dir(tmp_path))
    installed = _run(
        venv / "bin" / "pip", "install", "-q", "--disable-pip-version-check", "--no-index", wheel
    )
    assert installed.returncode == 0, installed.stderr
    answers = tmp_path / "answers.toml"
    answers.write_text(ANSWERS, encoding="utf-8")
    work = tmp_path / "elsewhere"
    work.mkdir()
    rendered = _run(
        venv / "bin" / "codestream-bastion", "render", "--answers", answers, "--out", "out",
        cwd=work,
    )  # fmt: skip
    assert rendered.returncode == 0, rendered.stdout + rendered.stderr
    conf = (work / "out" / "codestream-bastion.conf").read_text(encoding="utf-8")
    # Every subpackage made it into the wheel: the wizard itself imports.
    wizard = _run(venv / "bin" / "python", "-c", "import wizard.tui.app", cwd=work)
    assert wizard.returncode == 0, wizard.stderr
    assert "location = /no-auth/provider-action/msteams" in conf.replace('"', "")
