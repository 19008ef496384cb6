"""The unit files of ``apply --monitor``: systemd's quoting, no injection."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from tests.integration.test_monitor import exec_start
from wizard.install.errors import InstallError
from wizard.install.monitor import MonitorSpec, check_root_owned, service_unit, systemd_quote


def test_every_argument_survives_systemd_quoting_byte_for_byte() -> None:
    hostile = ["a b", 'quote"d', "back\\slash", "$HOME", "%h", "50%", "x;y", "'single'"]
    spec = MonitorSpec(("/opt/py", "-m", "wizard", *hostile), Path("/t"), Path("/s"))
    argv = exec_start(service_unit(spec).decode("utf-8"))
    assert argv == ["/opt/py", "-m", "wizard", *hostile, "--textfile", "/t/codestream_bastion.prom"]
    assert systemd_quote("%h$X") == '"%%h$$X"'


def test_a_control_character_cannot_reach_the_unit_file() -> None:
    with pytest.raises(InstallError, match="control character"):
        systemd_quote("answers.toml\nExecStartPre=/bin/evil")


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give a directory away")
def test_code_another_user_could_change_is_refused_for_the_root_service(tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody").pw_uid
    checkout = tmp_path / "checkout" / "wizard"
    checkout.mkdir(parents=True)
    check_root_owned([checkout])  # root's alone: accepted

    os.chown(checkout.parent, nobody, -1)  # a clone a normal user made
    with pytest.raises(InstallError, match=f"belongs to nobody \\(uid {nobody}\\)") as refused:
        check_root_owned([checkout])
    assert refused.value.code == "install.monitor"
    os.chown(checkout.parent, 0, -1)

    checkout.parent.chmod(0o777)  # writable by others, not sticky
    with pytest.raises(InstallError, match="writable by everyone"):
        check_root_owned([checkout])
    checkout.parent.chmod(0o1777)  # sticky, like /tmp: others cannot replace root's entries
    check_root_owned([checkout])
