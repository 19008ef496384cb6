"""Which nginx, which version, built with what: the binary and ``nginx -V``.

One lookup (:func:`find_binary`) serves every caller: the check, the
renderer's feature probe, the installer and the demo. ``nginx -V`` is read
into :class:`NginxFeatures`, what the server block may use (HTTP/2 syntax,
``ssl_ecdh_curve`` list, IPv6 listening).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass

from wizard.nginx.command import COMMAND_TIMEOUT, run_command

SBIN_DIRECTORIES: tuple[str, ...] = (
    "/usr/sbin",
    "/usr/local/sbin",
    "/sbin",
    "/usr/local/nginx/sbin",
    "/usr/bin",
)
"""Where packages and source builds put nginx; ``sbin`` is not on every user's PATH."""
PROBE_TIMEOUT = 5.0
"""Upper bound, in seconds, for ``nginx -V``."""

# Mozilla Server Side TLS guideline 5.7/5.8, "intermediate": the curve lists per TLS library.
ECDH_CURVES_X25519 = "X25519:prime256v1:secp384r1"
ECDH_CURVES_NIST = "prime256v1:secp384r1"

_NGINX_VERSION = re.compile(r"nginx version: [^/\s]+/(\d+)\.(\d+)\.(\d+)")
_TLS_LIBRARY = re.compile(r"(OpenSSL|LibreSSL|BoringSSL)(?:\s+(\d+)\.(\d+)\.(\d+)[a-z]*)?")


def find_binary(binary: str = "nginx") -> str | None:
    """The full path of the nginx executable, or ``None`` when it is not installed.

    Args:
        binary: A path (used as is when it is an executable file) or a name,
            looked up on PATH and then in :data:`SBIN_DIRECTORIES`.
    """
    if os.sep in binary:
        return binary if os.path.isfile(binary) and os.access(binary, os.X_OK) else None
    found = shutil.which(binary)
    if found is not None:
        return found
    for directory in SBIN_DIRECTORIES:
        candidate = os.path.join(directory, binary)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def parse_version(text: str) -> tuple[int, int, int] | None:
    """The version in ``nginx -v``/``-V`` output (``nginx version: nginx/1.22.1``), or ``None``."""
    match = _NGINX_VERSION.search(text)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3))


async def nginx_version(
    binary: str, timeout: float = COMMAND_TIMEOUT
) -> tuple[int, int, int] | None:
    """The version ``nginx -v`` reports, or ``None``."""
    return parse_version((await run_command([binary, "-v"], timeout)).output)


@dataclass(frozen=True)
class NginxFeatures:
    """What the installed nginx (and host) support, from ``nginx -V``.

    Attributes:
        version: ``(1, 22, 1)``, or ``None`` when nginx was not found.
        openssl: The TLS library nginx runs with, e.g. ``"OpenSSL 3.0.19"``.
        http2_directive: Use ``http2 on;`` (nginx 1.25.1+ with the HTTP/2 module).
        http2_listen: Use the ``listen ... http2`` parameter (older nginx).
        ecdh_curve: The ``ssl_ecdh_curve`` list to write, or ``None`` to leave
            nginx's default (``auto``) when the TLS library is unknown.
        listen_ipv6: Also listen on ``[::]`` (the host supports IPv6 sockets).
        ssl_module: nginx was built with ``--with-http_ssl_module``.
        binary: The nginx executable found, if any.
    """

    version: tuple[int, int, int] | None = None
    openssl: str | None = None
    http2_directive: bool = False
    http2_listen: bool = False
    ecdh_curve: str | None = None
    listen_ipv6: bool = True
    ssl_module: bool = True
    binary: str | None = None

    @property
    def found(self) -> bool:
        """True when an nginx binary answered ``-V``."""
        return self.version is not None


def _tls_library(text: str) -> tuple[str, str, tuple[int, int, int] | None] | None:
    """(description, family, version) of the TLS library nginx runs with.

    ``running with`` (the shared library actually loaded) wins over ``built with``.
    """
    running = re.search(r"running with ([^)\n]*)", text)
    built = re.search(r"built with ([^\n(]*)", text)
    for source in (running, built):
        if source is None:
            continue
        match = _TLS_LIBRARY.search(source.group(1))
        if match is None:
            continue
        family = match.group(1)
        if match.group(2) is None:
            return family, family, None
        version = (int(match.group(2)), int(match.group(3)), int(match.group(4)))
        return f"{family} {'.'.join(map(str, version))}", family, version
    return None


def _ecdh_curve_for(family: str, version: tuple[int, int, int] | None) -> str | None:
    """The curve list the TLS library accepts, or ``None`` to keep nginx's default."""
    if family == "BoringSSL":
        return ECDH_CURVES_X25519
    if version is None:
        return None
    if family == "OpenSSL":
        if version >= (1, 1, 0):
            return ECDH_CURVES_X25519
        if version >= (1, 0, 2):
            return ECDH_CURVES_NIST
        return None
    # LibreSSL has X25519 since 2.5.1 and curve lists since 2.5.0.
    return ECDH_CURVES_X25519 if version >= (2, 5, 1) else None


def host_supports_ipv6() -> bool:
    """True when this host can open IPv6 listening sockets (``listen [::]:PORT``)."""
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
            sock.bind(("::", 0))
    except OSError:
        return False
    return True


def parse_nginx_v(
    text: str, *, listen_ipv6: bool = True, binary: str | None = None
) -> NginxFeatures:
    """Features from the output of ``nginx -V`` (nginx prints it on stderr).

    Args:
        text: The output; empty or unrecognised text gives the safe defaults.
        listen_ipv6: Whether the host supports IPv6 listening sockets.
        binary: The executable that produced ``text``.
    """
    version = parse_version(text)
    if version is None:
        return NginxFeatures(listen_ipv6=listen_ipv6, binary=binary)
    v2 = "--with-http_v2_module" in text
    library = _tls_library(text)
    return NginxFeatures(
        version=version,
        openssl=library[0] if library else None,
        http2_directive=v2 and version >= (1, 25, 1),
        http2_listen=v2 and (1, 9, 5) <= version < (1, 25, 1),
        ecdh_curve=_ecdh_curve_for(library[1], library[2]) if library else None,
        listen_ipv6=listen_ipv6,
        ssl_module="--with-http_ssl_module" in text,
        binary=binary,
    )


def detect_nginx_features(binary: str = "nginx") -> NginxFeatures:
    """Ask the installed nginx what it supports (``nginx -V``, bounded by a timeout).

    Synchronous on purpose: callers on the event loop run it in a thread
    (``asyncio.to_thread``), and ``render`` runs without a loop. When nginx is
    missing, hangs or prints something unexpected, the safe defaults apply: no
    HTTP/2, nginx's default curves, TLS policy unchanged.
    """
    ipv6 = host_supports_ipv6()
    path = find_binary(binary)
    if path is None:
        return NginxFeatures(listen_ipv6=ipv6)
    try:
        result = subprocess.run(
            [path, "-V"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=PROBE_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return NginxFeatures(listen_ipv6=ipv6, binary=path)
    return parse_nginx_v(result.stderr + result.stdout, listen_ipv6=ipv6, binary=path)
