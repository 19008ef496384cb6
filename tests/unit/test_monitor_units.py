"""The unit files of ``apply --monitor``: systemd's quoting, no injection."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_monitor import exec_start
from wizard.install.errors import InstallError
from wizard.install.monitor import MonitorSpec, service_unit, systemd_quote


def test_every_argument_survives_systemd_quoting_byte_for_byte() -> None:
    hostile = ["a b", 'quote"d', "back\\slash", "$HOME", "%h", "50%", "x;y", "'single'"]
    spec = MonitorSpec(("/opt/py", "-m", "wizard", *hostile), Path("/t"), Path("/s"))
    argv = exec_start(service_unit(spec).decode("utf-8"))
    assert argv == ["/opt/py", "-m", "wizard", *hostile, "--textfile", "/t/codestream_bastion.prom"]
    assert systemd_quote("%h$X") == '"%%h$$X"'


def test_a_control_character_cannot_reach_the_unit_file() -> None:
    with pytest.raises(InstallError, match="control character"):
        systemd_quote("answers.toml\nExecStartPre=/bin/evil")
