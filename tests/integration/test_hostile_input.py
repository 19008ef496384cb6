"""What the tool shows and reads, against a hostile host: the tests act as the attacker.

As in ``test_hostile_host.py``, the suite runs as root and an unprivileged
user (``nobody``, in a child that drops its privileges) plants files: a
certificate whose subject, issuer and subjectAltName carry OSC 52 (the
terminal's clipboard), CSI and C1 sequences; FIFOs; links. A hostile upstream
(a real HTTP server on loopback) sends escapes in ``Server`` and
``X-CS-API-Version``. What is asserted is what reaches the admin: the bytes
written to file descriptors 1 and 2, exit codes, how long a run took, and the
files left behind.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_check_command import _shared_args
from tests.integration.test_hostile_host import as_nobody, shared, victim
from wizard.answers import load_answers, save_answers
from wizard.cli import main
from wizard.demo.ca import TestCA, cert_pem, key_pem
from wizard.demo.environment import DemoEnvironment, running_demo
from wizard.demo.fake_api import _codestream_response

__all__ = ["shared"]  # the fixture, imported for the tests below

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the attacker tests run as root")

OSC52 = "\x1b]52;c;Y3VybCB4fHNo\x07"  # the clipboard becomes "curl x|sh"
TITLE = "\x1b]0;pwned\x07"  # the window title
CSI = "\x1b[5i\x9b2J"  # printer on; a C1 CSI that clears the screen
# What must never reach the terminal: ESC, BEL, and C1 controls (UTF-8 or latin-1 bytes).
FORBIDDEN = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")
REPO = Path(__file__).resolve().parents[2]
NOBODY = pwd.getpwnam("nobody")


def assert_clean(raw: bytes, what: str) -> None:
    found = FORBIDDEN.findall(raw)
    assert not found, f"{what} carries {found[:5]!r}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[DemoEnvironment, Path]]:
    with running_demo(tmp_path_factory.mktemp("demo"), timeout=2.0) as running:
        yield running


def nobody_home(shared: Path) -> Path:
    """A directory of ``shared`` that belongs to nobody (mode 0755), for nobody's plants."""
    home = shared / "nobody"
    if not home.exists():
        home.mkdir(mode=0o755)
        os.chown(home, NOBODY.pw_uid, NOBODY.pw_gid)
    return home


def plant_hostile_pairs(shared: Path, stems: tuple[str, ...] = ("fullchain",)) -> Path:
    """Certificates with escapes in subject, issuer and SAN, with keys, planted by nobody.

    Returns:
        Nobody's directory holding ``STEM.pem`` and ``STEM.key`` for each stem.
    """
    ca = TestCA(f"Evil{OSC52}", with_intermediate=False)
    issued = ca.issue(
        ["bastion.example.test", f"x{TITLE[:-1]}.example.test"],
        common_name=f"a{CSI}b{OSC52}",
    )
    staging = shared / "staging"
    staging.mkdir()
    (staging / "c.pem").write_bytes(cert_pem(issued.cert))
    (staging / "k.pem").write_bytes(key_pem(issued.key))
    for file in staging.iterdir():
        file.chmod(0o644)
    home = nobody_home(shared)
    as_nobody(
        "\n".join(
            f"cp {staging}/c.pem '{home}/{stem}.pem'; cp {staging}/k.pem '{home}/{stem}.key'"
            for stem in stems
        )
    )
    return home


def run_check(
    capfdbinary: pytest.CaptureFixture[bytes], args: list[str]
) -> tuple[int, bytes, bytes]:
    status = main(args)
    out, err = capfdbinary.readouterr()
    return status, out, err


# -- a planted certificate given in the answers -------------------------------------------------


def test_a_planted_certificate_reaches_no_format_raw_and_is_flagged(
    demo: tuple[DemoEnvironment, Path],
    shared: Path,
    tmp_path: Path,
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    env, demo_answers = demo
    home = plant_hostile_pairs(shared)
    cert, key = home / "fullchain.pem", home / "fullchain.key"
    answers = load_answers(demo_answers)
    answers.bastion.certificate = str(cert)
    answers.bastion.private_key = str(key)
    path = tmp_path / "answers.toml"
    save_answers(answers, path)
    base = ["check", "--answers", str(path), *_shared_args(env)]
    outputs = {}
    for fmt in ("text", "json", "nagios", "prometheus"):
        status, out, err = run_check(capfdbinary, [*base, "--format", fmt])
        assert status == (2 if fmt == "nagios" else 1), (fmt, out[-400:])
        assert_clean(out, f"{fmt} stdout")
        assert_clean(err, f"{fmt} stderr")
        outputs[fmt] = out.decode("utf-8")
    text = outputs["text"]
    assert "Evil\\x1b]52;c;Y3VybCB4fHNo\\x07 Root CA" in text  # the issuer, spelled out
    assert "x\\x1b]0;pwned.example.test" in text  # a subjectAltName
    findings = json.loads(outputs["json"])["findings"]
    codes = {f["code"]: f for f in findings}
    for code, file in (("cert.unsafe_path", cert), ("key.unsafe_path", key)):
        assert codes[code]["status"] == "fail"
        assert "nobody" in codes[code]["title"] + codes[code]["detail"]
        assert str(file) in codes[code]["detail"]
        assert "Move" in codes[code]["remedy"]
    assert "key.ok" not in codes
    assert "cert.unsafe_path" in outputs["nagios"]


# -- a hostile upstream -------------------------------------------------------------------------


class HostileUpstream:
    """A real HTTP/1.1 server on loopback answering every request with chosen headers."""

    def __init__(self, codestream: bool) -> None:
        self.codestream = codestream
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _answer(self, request: bytes) -> bytes:
        target = request.split(b" ", 2)[1].decode("latin-1") if b" " in request else "/"
        if self.codestream:  # CodeStream's own 404, with a release header full of escapes
            response = _codestream_response("GET", target, b"", f"14.0.3{OSC52}{CSI}")
        else:  # a web server that is not CodeStream, naming itself with escapes
            response = _codestream_response("GET", target, b"", None)
            body = b"<h1>Welcome</h1>"
            response.status, response.reason, response.body = 200, "OK", body
            response.headers = [(k, v) for k, v in response.headers if k != "Content-Length"]
            response.headers += [
                ("Content-Length", str(len(body))),
                ("Server", f"evil{TITLE}{CSI}"),
            ]
        return response.wire(keep_alive=False)

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                conn.sendall(self._answer(data))

    def __enter__(self) -> HostileUpstream:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.sock.close()


@pytest.mark.parametrize("codestream", [True, False], ids=["release-header", "not-codestream"])
def test_escapes_in_an_upstream_s_headers_never_reach_stdout(
    codestream: bool,
    demo: tuple[DemoEnvironment, Path],
    tmp_path: Path,
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    env, demo_answers = demo
    with HostileUpstream(codestream) as upstream:
        answers = load_answers(demo_answers)
        answers.codestream.api_url = f"http://127.0.0.1:{upstream.port}"
        answers.codestream.upstream_ca = ""
        path = tmp_path / "answers.toml"
        save_answers(answers, path)
        for fmt in ("text", "json", "nagios", "prometheus"):
            args = ["check", "--answers", str(path), *_shared_args(env), "--format", fmt]
            _status, out, err = run_check(capfdbinary, args)
            assert_clean(out, f"{fmt} stdout")
            assert_clean(err, f"{fmt} stderr")
            text = out.decode("utf-8")
            if codestream:  # only the version the header matched is repeated
                assert "pwned" not in text
                assert "52;c;" not in text
                if fmt in ("text", "json"):
                    assert "14.0.3" in text
            elif fmt in ("text", "json"):
                assert "upstream.not_codestream" in text
                assert "evil\\x1b]0;pwned\\x07" in text.replace("\\\\", "\\")


# -- devices, FIFOs, huge and deep files for every input path -----------------------------------


def _fifo(shared: Path, name: str) -> Path:
    as_nobody(f"mkfifo -m 666 {nobody_home(shared)}/{name}")
    return shared / "nobody" / name


def _huge(path: Path, size: int = 3 << 30) -> Path:
    with path.open("wb") as handle:
        handle.truncate(size)  # sparse: costs nothing on disk, 3 GiB to a reader
    return path


def _deep_json(path: Path) -> Path:
    path.write_text('{"integrations": ' + "[" * 200_000 + "]" * 200_000 + "}", encoding="utf-8")
    return path


def cli(*args: str, timeout: float = 60) -> tuple[int, str, str, float]:
    """The command in a child process: a hang fails the test instead of the suite."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "wizard", *args],
        capture_output=True,
        timeout=timeout,
        check=False,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    elapsed = time.monotonic() - started
    assert "Traceback" not in done.stderr.decode("utf-8", "replace"), done.stderr[-2000:]
    return done.returncode, done.stdout.decode(), done.stderr.decode(), elapsed


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "huge"])
def test_certificate_key_upstream_ca_and_ca_bundle_never_hang_or_fill_memory(
    kind: str, demo: tuple[DemoEnvironment, Path], shared: Path, tmp_path: Path
) -> None:
    env, demo_answers = demo
    hostile = {
        "dev-zero": lambda name: Path("/dev/zero"),
        "fifo": lambda name: _fifo(shared, name),
        "huge": lambda name: _huge(tmp_path / name),
    }[kind]
    words = re.compile("too large|is over" if kind == "huge" else "not a regular file")
    answers = load_answers(demo_answers)
    bundle = str(env.context().ca_bundle)
    runs = {  # the certificate, key and upstream_ca at once; then the trust store alone
        "files": (hostile("cert.pem"), hostile("key.pem"), hostile("ca.pem"), bundle),
        "bundle": (answers.bastion.certificate, answers.bastion.private_key, "", hostile("b")),
    }
    expected = {
        "files": ("cert.unreadable", "key.unreadable", "upstream.ca_file"),
        "bundle": ("cert.trust_store",),
    }
    for run, (cert, key, upstream_ca, ca_bundle) in runs.items():
        answers.bastion.certificate, answers.bastion.private_key = str(cert), str(key)
        answers.codestream.upstream_ca = str(upstream_ca)
        path = tmp_path / f"answers-{run}.toml"
        save_answers(answers, path)
        args = [str(ca_bundle) if a == bundle else a for a in _shared_args(env)]
        status, out, _err, elapsed = cli("check", "--answers", str(path), "--json", *args)
        assert status == 1
        assert elapsed < 30
        codes = {f["code"]: f for f in json.loads(out)["findings"]}
        for code in expected[run]:
            assert code in codes, sorted(codes)
            assert words.search(codes[code]["title"] + codes[code]["detail"]), codes[code]


@pytest.mark.parametrize("kind", ["dev-zero", "fifo", "huge", "deep"])
@pytest.mark.parametrize("which", ["snippet", "into"])
def test_merge_config_inputs_never_hang_fill_memory_or_trace(
    kind: str, which: str, shared: Path, tmp_path: Path
) -> None:
    good_snippet = tmp_path / "snippet.json"
    good_snippet.write_text('{"integrations": {"slack": {"cloud": {"appId": "A1"}}}}')
    good_config = tmp_path / "config.json"
    good_config.write_text('{"apiServer": {"port": 443}}\n')
    bad = {
        "dev-zero": lambda: Path("/dev/zero"),
        "fifo": lambda: _fifo(shared, "config.json"),
        "huge": lambda: _huge(tmp_path / "huge.json"),
        "deep": lambda: _deep_json(tmp_path / "deep.json"),
    }[kind]()
    snippet, into = (bad, good_config) if which == "snippet" else (good_snippet, bad)
    before = good_config.read_bytes()
    status, out, _err, elapsed = cli("merge-config", "--snippet", str(snippet), "--into", str(into))
    assert status == 2, out
    assert elapsed < 20
    assert str(bad) in out
    expected = {
        "dev-zero": "not a regular file",
        # The FIFO sits in nobody's directory: --into is refused before it is opened.
        "fifo": "belongs to nobody" if which == "into" else "not a regular file",
        "huge": "bytes; a",
        "deep": "more than 100 deep",
    }[kind]
    assert expected in out, out
    assert good_config.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if ".bak-" in p.name) == []


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_answers_and_secret_files_that_are_devices_or_fifos_are_refused_at_once(
    kind: str, shared: Path, tmp_path: Path
) -> None:
    hostile = Path("/dev/zero") if kind == "dev-zero" else _fifo(shared, "answers.toml")
    status, _out, err, elapsed = cli("check", "--answers", str(hostile))
    assert (status, elapsed < 10) == (2, True)
    assert "not a regular file" in err
    secret = Path("/dev/zero") if kind == "dev-zero" else _fifo(shared, "secret")
    answers = tmp_path / "answers.toml"
    answers.write_text(
        f'mode = "slack-no-exposure"\n[codestream]\napi_url = "http://127.0.0.1:9"\n'
        f'[slack]\nclient_secret_file = "{secret}"\n',
        encoding="utf-8",
    )
    status, _out, err, elapsed = cli("render", "--answers", str(answers), "--out", str(tmp_path))
    assert (status, elapsed < 10) == (2, True)
    assert "not a regular file" in err


# -- merge-config --into a planted link ---------------------------------------------------------


def test_merge_config_never_writes_through_a_link_another_user_planted(
    shared: Path, tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    target = victim(shared)  # root's 0600 file in a 0700 directory
    target.write_text('{"storage": {"mongo": {"url": "mongodb://u:ROOT-ONLY-PASS@db/x"}}}\n')
    before = target.read_bytes()
    snippet = tmp_path / "snippet.json"
    snippet.write_text('{"integrations": {"slack": {"cloud": {"appId": "A1"}}}}')
    nobody_home(shared)
    as_nobody(
        f"""
        ln -s {target} {shared}/nobody/codestream-services-config.json
        printf '{{"apiServer": {{}}}}' > {shared}/nobody/plain.json
        """
    )
    for into in ("codestream-services-config.json", "plain.json"):
        path = shared / "nobody" / into
        status = main(["merge-config", "--snippet", str(snippet), "--into", str(path)])
        out, err = capfdbinary.readouterr()
        assert status == 2
        assert b"ROOT-ONLY-PASS" not in out + err
        assert b"mongodb" not in out + err
        assert b"apiServer" not in out + err  # nothing of a refused file is shown
        assert (b"symbolic link" if into.startswith("code") else b"belongs to nobody") in out
    assert target.read_bytes() == before
    assert sorted(os.listdir(target.parent)) == ["shadow"]
    assert sorted(os.listdir(shared / "nobody")) == [
        "codestream-services-config.json",
        "plain.json",
    ]
