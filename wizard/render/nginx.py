"""The nginx server block: every value validated, placed only through the quoting filters.

Mozilla's "intermediate" TLS policy, exact ``location =`` blocks for the chosen
endpoints and a 404 for everything else, upstream TLS verified with SNI, and
the API host re-resolved at run time through the host's own resolvers unless
an address is pinned (README.md, "render": the files).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from wizard import __version__
from wizard.answers import Answers
from wizard.constants import MSTEAMS_ENDPOINT, SERVER_CONF_NAME
from wizard.limits import RETRY_AFTER_SECONDS
from wizard.nginx.binary import NginxFeatures
from wizard.render.core import RenderedFile, RenderError, render_template
from wizard.render.validate import path_problem

if TYPE_CHECKING:
    import jinja2

    from wizard.checks.api_url import ApiTarget

NGINX_TEMPLATE = "nginx-server.conf.j2"


# Used for proxy_ssl_trusted_certificate when neither upstream_ca nor a bundle is known.
FALLBACK_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# Mozilla Server Side TLS guideline 5.7/5.8, "intermediate" configuration.
MOZILLA_INTERMEDIATE_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
        "DHE-RSA-CHACHA20-POLY1305",
    )
)


def nginx_ca_bundle() -> str | None:
    """The system trust bundle nginx should use for the upstream, as an absolute path."""
    from wizard.checks.context import default_ca_bundle

    bundle = default_ca_bundle()
    if bundle is not None and bundle.is_absolute() and bundle.is_file():
        return str(bundle)
    return None


def bracketed(host: str) -> str:
    """An IPv6 address in brackets, as in ``host:port``; anything else unchanged."""
    return f"[{host}]" if ":" in host else host


def nginx_resolver(text: str) -> str:
    """``ADDR[:PORT]`` as nginx's ``resolver`` wants it (IPv6 in brackets)."""
    from wizard.probes.dns import parse_nameserver

    server = parse_nameserver(text)
    host = bracketed(ipaddress.ip_address(server.address).compressed)
    return host if server.port == 53 else f"{host}:{server.port}"


@dataclass
class NginxPlan:
    """Every value of the server block, validated, for the template."""

    port: int
    listen_address: str
    listen_ipv6: bool
    http2_listen: bool
    http2_directive: bool
    server_name: str
    certificate: str
    private_key: str
    ciphers: str
    ecdh_curve: str | None
    access_log: str
    error_log: str
    upstream_scheme: str
    host_header: str
    ssl_name: str
    trusted_ca: str
    resolvers: list[str]
    upstream_var: str | None  # "host:port" for `set $codestream_bastion_api`
    static_target: str | None  # "ip:port" when no run-time resolution is needed
    # (exact path, upstream path, the only sources allowed: empty for any)
    locations: list[tuple[str, str, list[str]]] = field(default_factory=list)
    # The per-client limits (wizard/limits.py); a zone of None: that limit is off.
    req_zone: str | None = None
    rate: int = 0
    burst: int = 0
    conn_zone: str | None = None
    connections: int = 0
    retry_after: int = RETRY_AFTER_SECONDS

    def context(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _upstream_target(
    answers: Answers, upstream: ApiTarget, resolvers: Sequence[str], problems: list[str]
) -> tuple[str | None, str | None, list[str]]:
    """(static ``ip:port``, or the ``host:port`` nginx resolves at run time, and its resolvers).

    A pinned address or an IP in the URL needs no resolution; a host name is
    re-resolved by nginx through the host's own resolvers (a name in
    ``proxy_pass`` would be resolved once at start-up and never again).
    """
    pinned = answers.codestream.upstream_address
    if pinned:
        address = ipaddress.ip_address(pinned).compressed
        return f"{bracketed(address)}:{upstream.port}", None, []
    if upstream.host_is_ip:
        return f"{bracketed(upstream.host)}:{upstream.port}", None, []
    nginx_resolvers: list[str] = []
    for text in resolvers:
        try:
            nginx_resolvers.append(nginx_resolver(text))
        except ValueError as exc:
            problems.append(f"--dns-server: {exc}")
    if not resolvers:
        problems.append(
            "codestream.upstream_address: nginx must resolve "
            f"{upstream.host} at run time but no DNS server was found (/etc/resolv.conf "
            "has no 'nameserver' line); pin the API's IP address in "
            "[codestream] upstream_address, or pass --dns-server ADDR"
        )
    return None, f"{upstream.host}:{upstream.port}", nginx_resolvers


def zone_names(server_name: str, port: int) -> tuple[str, str]:
    """The ``limit_req`` and ``limit_conn`` zones of the block for ``server_name:port``.

    Zones are http-wide: the prefix keeps them apart from the admin's own, and
    the name and port from another block this tool writes into the same nginx
    (nginx refuses a zone name bound twice). A zone name ends at ``:``, which an
    ASCII host name never holds.
    """
    base = f"codestream_bastion_{server_name}_{port}"
    return f"{base}_req", f"{base}_conn"


def _teams_sources(answers: Answers, problems: list[str]) -> list[str]:
    """The sources the Teams route accepts (empty: any address).

    Microsoft's ranges from the ``teams_ranges`` file, and the bastion's own
    public address: the post-install proof sends its requests from this host,
    through the public name (only this host can use that source address).
    """
    bastion = answers.bastion
    if bastion.teams_source != "azure" or not answers.uses_msteams:
        return []
    from wizard.checks.limits import TeamsRangesError, read_teams_ranges

    try:
        ranges = read_teams_ranges(bastion.teams_ranges)
    except TeamsRangesError as exc:
        problems.append(f"bastion.teams_ranges: {exc}")
        return []
    own = str(ipaddress.ip_network(bastion.public_ip))
    return ranges if own in ranges else [*ranges, own]


def _listen(answers: Answers, features: NginxFeatures) -> tuple[str, bool]:
    """The ``listen`` address (empty: all interfaces) and whether to listen on ``[::]`` too.

    A loopback "public" address (labs, the demo) binds there only, so the lab
    proxy is not reachable from the network; real addresses listen on all
    interfaces, as 1:1 NAT (cloud public IPs) needs.
    """
    public_ip = answers.bastion.public_ip
    public = ipaddress.ip_address(public_ip) if public_ip else None
    public_v6 = public is not None and public.version == 6
    loopback = public is not None and public.is_loopback
    listen_address = "" if not loopback else (f"[{public}]" if public_v6 else str(public))
    return listen_address, (features.listen_ipv6 or public_v6) and not loopback


def nginx_plan(
    answers: Answers,
    upstream: ApiTarget,
    features: NginxFeatures,
    resolvers: Sequence[str],
    ca_bundle: str | None,
    log_dir: str,
) -> NginxPlan:
    """Every value of the server block, validated.

    Raises:
        RenderError: When the resolvers, the CA bundle or the log directory
            cannot be written into nginx (each problem names the option).
    """
    from wizard.checks.hostname import to_ascii_hostname

    problems: list[str] = []
    static_target, upstream_var, nginx_resolvers = _upstream_target(
        answers, upstream, resolvers, problems
    )
    trusted = answers.codestream.upstream_ca or ca_bundle or FALLBACK_CA_BUNDLE
    if upstream.scheme == "https" and not answers.codestream.upstream_ca:
        message = path_problem(trusted, "CA bundle")
        if message:
            problems.append(f"--ca-bundle: {message}")
    log_problem = path_problem(log_dir + "/x.log", "log directory")
    if log_problem:
        problems.append(f"log_dir: {log_problem}")
    teams_allow = _teams_sources(answers, problems)
    if problems:
        raise RenderError(problems)
    listen_address, listen_ipv6 = _listen(answers, features)
    log_base = log_dir.rstrip("/") or ""
    server_name = to_ascii_hostname(answers.bastion.hostname)
    req_zone, conn_zone = zone_names(server_name, answers.bastion.listen_port)
    b = answers.bastion
    return NginxPlan(
        port=answers.bastion.listen_port,
        listen_address=listen_address,
        listen_ipv6=listen_ipv6,
        http2_listen=features.http2_listen,
        http2_directive=features.http2_directive,
        server_name=server_name,
        certificate=answers.bastion.certificate,
        private_key=answers.bastion.private_key,
        ciphers=MOZILLA_INTERMEDIATE_CIPHERS,
        ecdh_curve=features.ecdh_curve,
        access_log=f"{log_base}/codestream-bastion.access.log",
        error_log=f"{log_base}/codestream-bastion.error.log",
        upstream_scheme=upstream.scheme,
        host_header=upstream.authority,
        ssl_name=upstream.host,
        trusted_ca=trusted,
        resolvers=nginx_resolvers,
        upstream_var=upstream_var,
        static_target=static_target,
        locations=[
            (p, p, teams_allow if e == MSTEAMS_ENDPOINT else [])
            for e in answers.endpoints
            for p in (e, e + "/")
        ],
        req_zone=req_zone if b.requests_per_second else None,
        rate=b.requests_per_second,
        burst=b.request_burst,
        conn_zone=conn_zone if b.connections_per_client else None,
        connections=b.connections_per_client,
    )


def render_server_block(env: jinja2.Environment, plan: NginxPlan) -> RenderedFile:
    """``codestream-bastion.conf`` for ``plan``."""
    conf = render_template(env, NGINX_TEMPLATE, {**plan.context(), "version": __version__})
    return RenderedFile(SERVER_CONF_NAME, conf, 0o644)
