"""Is it really CodeStream? The API's fingerprint and the release it reports.

Every answer of the CodeStream API carries ``X-CS-API-Version`` (its release,
set by ``api_server/modules/versioner/versioner.js`` before any route runs), and
a GET on a POST-only bot endpoint gets Express's default 404 (``finalhandler``):
status 404, ``text/html``, ``Content-Security-Policy: default-src 'none'`` and
``<pre>Cannot GET PATH</pre>``. The upstream check looks for it behind the
bastion, the proxy check through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Union

from wizard.constants import MSTEAMS_ENDPOINT
from wizard.findings import Finding, ok, warn

RELEASE_HEADER = "X-CS-API-Version"
"""The header naming the API's release on every answer (api_server/modules/versioner)."""

PROBE_PATH = f"{MSTEAMS_ENDPOINT}/"
"""What the probe GETs: a bot endpoint (POST-only), so CodeStream answers its 404."""

Headers = Union[Mapping[str, str], Iterable[tuple[str, str]]]
"""Response headers, as a mapping (``httpx.Headers``) or ``(name, value)`` pairs."""


def header_value(headers: Headers, name: str) -> str:
    """The value of header ``name`` (case-insensitive), ``""`` when absent."""
    wanted = name.lower()
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    return next((value for key, value in pairs if key.lower() == wanted), "")


def codestream_fingerprint_problems(
    status: int, headers: Headers, body: bytes | str, method: str = "GET", path: str = PROBE_PATH
) -> list[str]:
    """How an answer differs from CodeStream's (Express's) 404 for ``method path``.

    The fingerprint (Express's default 404 from ``finalhandler``): status 404, ``text/html``,
    ``Content-Security-Policy: default-src 'none'`` and
    ``<pre>Cannot METHOD PATH</pre>`` in the body, the path echoed as requested.

    Args:
        status: The status code received.
        headers: The response headers.
        body: The response body (at least its start).
        method: The method of the request.
        path: The path requested: a plain path (letters, digits, ``-``, ``_``,
            ``.``, ``/``), which Express echoes unchanged.

    Returns:
        One phrase per difference; empty when the answer is CodeStream's.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    problems: list[str] = []
    if status != 404:
        problems.append(f"status {status} instead of 404")
    content_type = header_value(headers, "content-type")
    if not content_type.lower().startswith("text/html"):
        problems.append(f"Content-Type {content_type or '(none)'!r} instead of text/html")
    csp = header_value(headers, "content-security-policy")
    if csp.strip() != "default-src 'none'":
        problems.append(
            f"Content-Security-Policy {csp or '(none)'!r} instead of default-src 'none'"
        )
    expected = f"<pre>Cannot {method} {path}</pre>"
    if expected not in text:
        problems.append(f"no {expected} in the body")
    return problems


def is_codestream_not_found(
    status: int, headers: Headers, body: bytes | str, method: str, path: str
) -> bool:
    """Whether an answer is CodeStream's 404 for ``method path``.

    See :func:`codestream_fingerprint_problems` for the arguments.
    """
    return not codestream_fingerprint_problems(status, headers, body, method, path)


_RELEASE_TITLE = re.compile(r"^CodeStream API release (\d+\.\d+\.\d+)$")


def release_in(findings: Iterable[Finding]) -> str | None:
    """The release the API reported, from the ``upstream.release`` finding.

    For callers that render after checking (pass it to
    ``wizard.render.render_all(..., release=...)``). ``None`` when the API named
    none, or when the release came from the answers file (which the render step
    reads itself).
    """
    for finding in findings:
        if finding.code == "upstream.release":
            match = _RELEASE_TITLE.match(finding.title)
            return match.group(1) if match else None
    return None


def release_findings(header: str, configured: str) -> list[Finding]:
    """What the API says its release is, against ``[codestream] release``.

    Args:
        header: The ``X-CS-API-Version`` value received (``""`` when absent).
        configured: ``[codestream] release`` from the answers (``""`` when unset).

    Returns:
        ``upstream.release`` (ok), or ``upstream.release_unknown`` (warn) when the
        API named no release and the answers give none, plus
        ``upstream.release_mismatch`` (warn) when the two differ.
    """
    from wizard.releases import format_release, parse_release, shape_for

    try:
        found = parse_release(header) if header.strip() else None
    except ValueError:
        found = None
    try:
        chosen = parse_release(configured) if configured.strip() else None
    except ValueError:
        chosen = None  # the render step names the bad key
    if found is None and chosen is None:
        sent = (
            f"sent an {RELEASE_HEADER} header that names no release"
            if header
            else f"sent no {RELEASE_HEADER} header"
        )
        return [
            warn(
                "upstream.release_unknown",
                "The CodeStream API did not name its release",
                f"The API {sent}. The snippet is written "
                f"{shape_for(None).describe()}; releases before 13.0.2 read other keys.",
                "Set release in the [codestream] table of the answers file to the API's "
                'release (e.g. release = "14.0.3"; X-CS-API-Version of '
                "curl -sI API_URL/no-auth/capabilities), then render again.",
            )
        ]
    findings: list[Finding] = []
    if found is not None:
        findings.append(
            ok(
                "upstream.release",
                f"CodeStream API release {format_release(found)}",
                # Only the version matched: whatever else the header holds is the
                # upstream's to choose, and is never repeated.
                f"{RELEASE_HEADER}: {format_release(found)}. The snippet is written "
                f"{shape_for(chosen or found).describe()}.",
            )
        )
    else:
        assert chosen is not None
        findings.append(
            ok(
                "upstream.release",
                f"CodeStream API release {format_release(chosen)} (from the answers file)",
                f"The API sent no usable {RELEASE_HEADER}; [codestream] release gives it. "
                f"The snippet is written {shape_for(chosen).describe()}.",
            )
        )
    if (
        found is not None
        and chosen is not None
        and not shape_for(found).reads_as(shape_for(chosen))
    ):
        findings.append(
            warn(
                "upstream.release_mismatch",
                f"The answers say release {format_release(chosen)}, the API is "
                f"{format_release(found)}",
                f"[codestream] release = {configured!r} overrides what the API reports; the "
                f"two releases read different configuration keys.",
                f'Set release = "{format_release(found)}" in the [codestream] table of the '
                "answers file, or empty it to follow the API, then render again.",
            )
        )
    return findings


_EXPRESS_ETAG = re.compile(r'^W/"[0-9a-f]+-[A-Za-z0-9+/]{27}"$')
_CODESTREAM_ERROR = re.compile(rb'^\{"code":"[A-Z]+-\d+"')


def answered_by_codestream(headers: Headers, body: bytes) -> bool:
    """Whether an answer (of any status) came from CodeStream's Express app, not nginx.

    Through the bastion, ``X-Powered-By`` is hidden and ``Server`` is nginx's
    on every answer, so what tells them apart is what only CodeStream writes:
    ``X-CS-API-Version`` (its versioner runs before any route), Express's 404
    ``Content-Security-Policy``, Express's weak ETag (``W/"<length>-<27 base64>"``)
    or a CodeStream error body (``{"code":"RAPI-1003",...}``). nginx's own
    pages (404, 502, 504) carry none of them.
    """
    if header_value(headers, RELEASE_HEADER).strip():
        return True
    if header_value(headers, "content-security-policy").strip() == "default-src 'none'":
        return True
    if header_value(headers, "x-powered-by").lower() == "express":
        return True
    if _EXPRESS_ETAG.match(header_value(headers, "etag").strip()):
        return True
    return _CODESTREAM_ERROR.match(body) is not None
