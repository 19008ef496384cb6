"""TLS to a server we are probing: client contexts, the certificate it presents, what it is.

Shared by the upstream check (the API behind the bastion) and the proxy check
(the bastion itself): one way to fetch a peer certificate without trusting it,
one way to describe a certificate to people, one way to say why a connection
failed. cryptography is imported where used.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path

from wizard.constants import MAX_TRUST_STORE_BYTES
from wizard.reading import read_bounded
from wizard.safetext import visible


class ProbeError(Exception):
    """A request that got no HTTP answer: refused, reset, timed out, TLS failed."""


def describe_error(exc: BaseException) -> str:
    """Why a connection or exchange failed, in a few words for people."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate verification failed: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake failed: {exc.reason or exc}"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listens there)"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by the server"
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return "no answer in time"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc)
    return str(exc) or exc.__class__.__name__


async def close_writer(writer: asyncio.StreamWriter) -> None:
    """Close a stream, waiting a moment for the peer (never raises)."""
    writer.close()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), 1.0)


async def peer_certificate(
    address: str, port: int, server_name: str, context: ssl.SSLContext, timeout: float
) -> bytes:
    """The DER of the certificate the server presents for ``server_name``.

    Raises:
        ProbeError: When no TLS session could be set up (the message says why).
    """

    async def handshake() -> bytes:
        _reader, writer = await asyncio.open_connection(
            address, port, ssl=context, server_hostname=server_name, ssl_handshake_timeout=timeout
        )
        try:
            tls = writer.get_extra_info("ssl_object")
            der = tls.getpeercert(binary_form=True) if tls is not None else None
            if not der:
                raise ProbeError("the server presented no certificate")
            return bytes(der)
        finally:
            await close_writer(writer)

    try:
        return await asyncio.wait_for(handshake(), timeout)
    except ProbeError:
        raise
    except (OSError, ssl.SSLError, asyncio.TimeoutError, EOFError) as exc:
        raise ProbeError(describe_error(exc)) from exc


def unverified_context() -> ssl.SSLContext:
    """A TLS client context that accepts any certificate (to see which one is served)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def verifying_context(trust_bundle: Path | None) -> ssl.SSLContext:
    """A TLS client context that verifies the chain against ``trust_bundle`` and the name.

    The bundle is read here through the one bounded reader rather than handed to
    OpenSSL by name, which would wait on a FIFO and read a device without end.

    Raises:
        BoundedReadError: When the bundle is not a regular file or is too large.
        ssl.SSLError: When it holds no usable certificate.
    """
    if trust_bundle is not None:
        data = read_bounded(trust_bundle, MAX_TRUST_STORE_BYTES)
        return ssl.create_default_context(cadata=data.decode("ascii", "replace"))
    return ssl.create_default_context()


def describe_certificate(der: bytes) -> str:
    """Subject, names (SAN: DNS names and IP addresses), issuer and serial, for people."""
    from cryptography import x509

    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return "an unparsable certificate"
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        found = [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)]
        found += [f"IP:{n}" for n in san.get_values_for_type(x509.IPAddress)]
        names = ", ".join(found) or "none"
    except x509.ExtensionNotFound:
        names = "none"
    # A peer's certificate says what its maker wrote: never hand its bytes to a terminal.
    return visible(
        f"subject {cert.subject.rfc4514_string() or '(empty)'}, names {names}, issued by "
        f"{cert.issuer.rfc4514_string() or '(empty)'}, serial {cert.serial_number:x}"
    )
