"""Render the bastion's files in memory: Nginx server block, CodeStream snippet, next steps.

Everything is produced as :class:`RenderedFile` objects first (as Copier
does), so the installer can diff, back up and write atomically, and ``render``
can write them into a directory. Nothing here touches the network.

No answer can add an Nginx directive. Every value is validated first
(:func:`validate_for_render`) and then placed in the server block only through
the explicit ``nginx_quote`` (double-quoted nginx string) or ``nginx_int``
filters. The Nginx template is rendered with a ``finalize`` hook that refuses
any ``{{ ... }}`` output that did not come from one of those filters, so a
template change that forgets to quote fails loudly instead of writing an
injectable file.

How nginx reads a double-quoted string (``ngx_conf_read_token``): the token
ends at the next unescaped ``"``; inside it ``;``, ``{``, ``}``, ``#``, ``'``
and blanks are ordinary characters; ``\\"`` stands for ``"`` and ``\\\\`` for
``\\``. Directives that take variables (``ssl_certificate`` since 1.15.9,
``proxy_pass``, ``proxy_set_header``, ...) then expand ``$name`` *after*
unquoting, and nginx has no escape for ``$``: a value holding ``$`` cannot be
written safely and is refused. Control characters are refused too.

jinja2 is imported where it is used, never at module level.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from wizard import __version__
from wizard.answers import DEFAULT_SNIPPET, MODE_LABELS, MODES, Answers
from wizard.fsutil import atomic_write
from wizard.nginx.binary import ECDH_CURVES_NIST as ECDH_CURVES_NIST
from wizard.nginx.binary import ECDH_CURVES_X25519 as ECDH_CURVES_X25519
from wizard.nginx.binary import NginxFeatures as NginxFeatures
from wizard.nginx.binary import detect_nginx_features as detect_nginx_features
from wizard.nginx.binary import find_binary
from wizard.nginx.binary import host_supports_ipv6 as host_supports_ipv6
from wizard.nginx.binary import parse_nginx_v as parse_nginx_v
from wizard.provider_files import TEAMS_PACKAGE_NAME
from wizard.releases import ConfigShape

# TODO(issue 9): re-point after merge: the nginx probe's old name here.
find_nginx = find_binary

if TYPE_CHECKING:
    import jinja2

    from wizard.checks.upstream import ApiTarget

SERVER_CONF_NAME = "codestream-bastion.conf"
NEXT_STEPS_NAME = "next-steps.md"
SLACK_MANIFEST_NAME = "slack-app-manifest.json"
SLACK_EVENTS_MANIFEST_NAME = "slack-app-manifest-events.json"
NGINX_TEMPLATE = "nginx-server.conf.j2"
NEXT_STEPS_TEMPLATE = "next-steps.md.j2"
DEFAULT_LOG_DIR = "/var/log/nginx"
OAUTH_REDIRECT_PATH = "/no-auth/provider-token/slack"
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
PLACEHOLDERS: dict[str, str] = {
    "slack.app_id": "<SLACK_APP_ID>",
    "slack.client_id": "<SLACK_CLIENT_ID>",
    "slack.client_secret": "<SLACK_CLIENT_SECRET>",
    "slack.signing_secret": "<SLACK_SIGNING_SECRET>",
    "msteams.app_id": "<MSTEAMS_APP_ID>",
    "msteams.app_password": "<MSTEAMS_APP_PASSWORD>",
}
_SNIPPET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_API_HOST = re.compile(r"[a-z0-9]([a-z0-9_.-]{0,251}[a-z0-9])?")
_RESERVED_NAMES = frozenset(
    {
        SERVER_CONF_NAME,
        NEXT_STEPS_NAME,
        SLACK_MANIFEST_NAME,
        SLACK_EVENTS_MANIFEST_NAME,
        TEAMS_PACKAGE_NAME,
        "answers.toml",
    }
)


# -- errors and results ------------------------------------------------------------


class RenderError(Exception):
    """The answers cannot be rendered; every problem names its key and the fix.

    Attributes:
        problems: One ``"key: what is wrong and how to fix it"`` line per problem.
        keys: The dotted answers keys (or option names) at fault, in order.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        self.keys = tuple(p.split(":", 1)[0] for p in self.problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return f"cannot render the files: {self.problems[0]}"
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"cannot render the files ({len(self.problems)} problems):\n{lines}"


class NginxQuoteError(ValueError):
    """A value that cannot be written into an nginx file safely."""


@dataclass(frozen=True)
class RenderedFile:
    """One generated file, in memory.

    Attributes:
        name: File name (no directory).
        content: The bytes to write.
        mode: Permission bits (0600 for files holding secrets).
    """

    name: str
    content: bytes
    mode: int


def nginx_ca_bundle() -> str | None:
    """The system trust bundle nginx should use for the upstream, as an absolute path."""
    from wizard.checks.context import default_ca_bundle

    bundle = default_ca_bundle()
    if bundle is not None and bundle.is_absolute() and bundle.is_file():
        return str(bundle)
    return None


# -- quoting -------------------------------------------------------------------


class NginxToken(str):
    """Text already made safe for an nginx file by a quoting filter."""

    __slots__ = ()


def _bad_character(text: str) -> str | None:
    """Describe the first control, surrogate or line-separator character, if any."""
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            name = unicodedata.name(char, "a control character")
            return f"U+{ord(char):04X} ({name}) at position {position}"
    return None


def nginx_quote(value: object) -> NginxToken:
    """``value`` as one double-quoted nginx string argument.

    Backslashes and double quotes are escaped (``\\\\``, ``\\"``); ``;``, ``{``,
    ``}``, ``#``, quotes and blanks are harmless inside the quotes.

    Raises:
        NginxQuoteError: For non-strings, control characters and ``$`` (nginx
            expands variables inside quoted strings and has no escape for ``$``).
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise NginxQuoteError(f"nginx_quote takes text, not {type(value).__name__}")
    text = str(value)
    bad = _bad_character(text)
    if bad is not None:
        raise NginxQuoteError(f"{text!r:.80} contains {bad}; nginx files cannot hold it")
    if "$" in text:
        raise NginxQuoteError(f"{text!r:.80} contains '$', which nginx would expand as a variable")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return NginxToken(f'"{escaped}"')


_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def nginx_url_via_variable(path: object, scheme: object, variable: object) -> NginxToken:
    """``"SCHEME://${VARIABLE}PATH"``: a quoted URL whose host comes from an nginx variable.

    The literal parts follow :func:`nginx_quote`'s rules; ``variable`` must be a
    plain variable name, so the only ``$`` in the result is the intended one.
    """
    if scheme not in ("http", "https"):
        raise NginxQuoteError(f"scheme must be http or https, not {scheme!r:.40}")
    if not isinstance(variable, str) or not _VARIABLE_NAME.fullmatch(variable):
        raise NginxQuoteError(f"{variable!r:.40} is not an nginx variable name")
    if not isinstance(path, str) or not path.startswith("/"):
        raise NginxQuoteError(f"{path!r:.60} is not an absolute URL path")
    quoted_path = nginx_quote(path)[1:-1]
    return NginxToken(f'"{scheme}://${{{variable}}}{quoted_path}"')


def nginx_int(value: object) -> NginxToken:
    """An integer argument (a port, a size); refuses anything else."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise NginxQuoteError(f"nginx_int takes an integer, not {value!r:.40}")
    return NginxToken(str(value))


# -- the Jinja2 environment ------------------------------------------------------------


def _templates_source() -> Callable[[str], str | None]:
    """A loader function: ``wizard.templates`` package data, else the repo's ``templates/``."""
    import importlib.resources

    roots: list[Any] = []
    with contextlib.suppress(ModuleNotFoundError, TypeError):  # broken install: repo dir
        roots.append(importlib.resources.files("wizard.templates"))
    roots.append(Path(__file__).resolve().parent.parent / "templates")

    def load(name: str) -> str | None:
        if "/" in name or "\\" in name or name.startswith("."):
            return None
        for root in roots:
            candidate = root / name
            if candidate.is_file():
                text: str = candidate.read_text(encoding="utf-8")
                return text
        return None

    return load


def make_environment() -> jinja2.Environment:
    """The Jinja2 environment for all templates.

    ``StrictUndefined`` (a misspelt variable is an error, not an empty string),
    no autoescaping (nothing here is HTML), trailing newlines kept, and the
    ``nginx_quote``/``nginx_int`` filters registered explicitly. In ``*.conf.j2``
    templates every ``{{ ... }}`` must come out of one of those filters.
    """
    import jinja2

    @jinja2.pass_context
    def finalize(context: jinja2.runtime.Context, value: object) -> object:
        name = context.name or ""
        if name.endswith(".conf.j2") and not isinstance(value, NginxToken):
            raise NginxQuoteError(
                f"{name}: {value!r:.60} reached the nginx file without nginx_quote/nginx_int"
            )
        return value

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_templates_source()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - nginx/Markdown output, quoted explicitly
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=finalize,
    )

    def strict(function: Callable[..., NginxToken]) -> Callable[..., NginxToken]:
        """Let an undefined value raise Jinja's own UndefinedError, naming the variable."""

        def filter_(value: object, *args: object) -> NginxToken:
            if isinstance(value, jinja2.Undefined):
                str(value)  # StrictUndefined raises here
            return function(value, *args)

        return filter_

    env.filters["nginx_quote"] = strict(nginx_quote)
    env.filters["nginx_int"] = strict(nginx_int)
    env.filters["nginx_url_via_variable"] = strict(nginx_url_via_variable)
    return env


# -- validation ----------------------------------------------------------------


def _path_problem(value: str, what: str) -> str | None:
    """Why ``value`` cannot be an absolute file path in an nginx file, or ``None``."""
    if not value.strip():
        return f"is empty: give the absolute path of the {what}"
    bad = _bad_character(value)
    if bad is not None:
        return f"contains {bad}; remove it"
    if value != value.strip():
        return "has blanks before or after the path; remove them"
    if not value.startswith("/"):
        return f"{value!r:.80} is not an absolute path; give the full path of the {what}, from /"
    if value.endswith("/"):
        return f"{value!r:.80} names a directory; give the path of the {what} file itself"
    if "$" in value:
        return (
            f"{value!r:.80} contains '$', which nginx would read as a variable; "
            "rename or move the file to a path without '$'"
        )
    return None


def _text_problem(value: str) -> str | None:
    bad = _bad_character(value)
    if bad is not None:
        return f"contains {bad}; remove it"
    if value != value.strip():
        return "has blanks before or after the value; remove them"
    return None


def _api_target(url: str) -> tuple[ApiTarget | None, str | None]:
    """The API's scheme, host and port from ``api_url``; (target, problem).

    :func:`wizard.checks.upstream.parse_api_url` does the validation; this
    adds what the nginx file needs on top: no IPv6 zone id (nginx cannot
    connect to one) and a host made of host-name characters only.
    """
    from wizard.checks.upstream import parse_api_url

    try:
        target = parse_api_url(url)
    except ValueError as exc:
        return None, str(exc)
    if "%" in target.host:
        return None, (
            f"the address {target.host!r} has a zone id; nginx cannot use one: "
            "give a global or unique-local address, or a host name"
        )
    if not target.host_is_ip and not _API_HOST.fullmatch(target.host):
        return None, (
            f"the host {target.host!r:.80} cannot be written into nginx; use letters, "
            "digits, hyphens and dots only"
        )
    return target, None


def _problems(answers: Answers) -> tuple[list[str], ApiTarget | None]:
    from wizard.checks.address import ip_syntax_error
    from wizard.checks.hostname import hostname_syntax_error
    from wizard.checks.upstream import api_url_error, upstream_address_error

    problems: list[str] = []

    def add(key: str, message: str | None) -> None:
        if message:
            problems.append(f"{key}: {message}")

    if answers.mode not in MODES:
        add("mode", f"unknown mode {answers.mode!r:.60}; use one of: {', '.join(MODES)}")
        return problems, None
    b, cs = answers.bastion, answers.codestream
    upstream: ApiTarget | None = None
    if answers.exposes_bastion:
        add("bastion.hostname", hostname_syntax_error(b.hostname))
        add("bastion.public_ip", ip_syntax_error(b.public_ip))
        add("bastion.certificate", _path_problem(b.certificate, "certificate chain (PEM)"))
        add("bastion.private_key", _path_problem(b.private_key, "private key (PEM)"))
        port = b.listen_port
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            add("bastion.listen_port", f"{port!r:.40} is not a TCP port; use 1-65535 (443)")
    if answers.exposes_bastion or cs.api_url:
        if not cs.api_url.strip():
            add(
                "codestream.api_url",
                "is empty: give the CodeStream API URL, e.g. https://codestream.my-company.com",
            )
        else:
            url_problem = _text_problem(cs.api_url) or api_url_error(cs.api_url)
            if url_problem is None:
                upstream, url_problem = _api_target(cs.api_url)
            add("codestream.api_url", url_problem)
    if answers.exposes_bastion:
        if cs.upstream_ca:
            add("codestream.upstream_ca", _path_problem(cs.upstream_ca, "CA certificate file"))
        if cs.upstream_address:
            message = (
                _text_problem(cs.upstream_address)
                or upstream_address_error(cs.upstream_address)
                or ("remove the zone id (%...)" if "%" in cs.upstream_address else None)
            )
            add("codestream.upstream_address", message)
    from wizard.provider_files import slack_app_name_error
    from wizard.releases import release_error

    add("codestream.release", _text_problem(cs.release) or release_error(cs.release))
    if answers.uses_slack:
        for key in ("app_id", "client_id", "client_secret", "signing_secret"):
            add(f"slack.{key}", _text_problem(getattr(answers.slack, key)))
        add(
            "slack.app_name",
            _text_problem(answers.slack.app_name) or slack_app_name_error(answers.slack.app_name),
        )
        if not isinstance(answers.slack.events, bool):
            add("slack.events", "must be true or false")
    if answers.uses_msteams:
        for key in ("app_id", "app_password"):
            add(f"msteams.{key}", _text_problem(getattr(answers.msteams, key)))
    add("output.snippet", _snippet_problem(answers.output.snippet))
    nginx_conf = answers.output.nginx_conf
    if nginx_conf != "auto":
        message = _path_problem(nginx_conf, "nginx server block")
        if message:
            add("output.nginx_conf", f'use "auto" or an absolute file path: {message}')
    return problems, upstream


def _snippet_problem(name: str) -> str | None:
    if not _SNIPPET_NAME.fullmatch(name or "") or ".." in name:
        return (
            f"{name!r:.60} is not a plain file name; use letters, digits, '.', '-' and '_' "
            f"only, no directory (default {DEFAULT_SNIPPET})"
        )
    if name in _RESERVED_NAMES:
        return f"{name!r} is the name of another generated file; choose another name"
    return None


def validate_for_render(answers: Answers) -> list[str]:
    """Every reason ``answers`` cannot be rendered, each ``"key: problem and fix"``.

    Offline and cheap: syntax only (the live checks are in :mod:`wizard.checks`).
    An empty list means :func:`render_all` accepts the answers (it may still
    refuse unusable ``resolvers`` or ``ca_bundle`` arguments, or a name that
    needs resolving when there is no resolver at all).
    """
    return _problems(answers)[0]


# -- rendering -------------------------------------------------------------------


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _nginx_resolver(text: str) -> str:
    """``ADDR[:PORT]`` as nginx's ``resolver`` wants it (IPv6 in brackets)."""
    from wizard.probes.dns import parse_nameserver

    server = parse_nameserver(text)
    host = _bracketed(ipaddress.ip_address(server.address).compressed)
    return host if server.port == 53 else f"{host}:{server.port}"


def _answer(answers: Answers, key: str) -> str:
    section, name = key.split(".")
    value: str = getattr(getattr(answers, section), name)
    return value


def _uses_section(answers: Answers, key: str) -> bool:
    return answers.uses_slack if key.startswith("slack.") else answers.uses_msteams


def _value(answer: str, key: str) -> str:
    return answer if answer.strip() else PLACEHOLDERS[key]


def config_shape(answers: Answers, detected: str | None = None) -> ConfigShape:
    """What the CodeStream release in front of the bastion reads.

    ``[codestream] release`` wins; else ``detected`` (the ``X-CS-API-Version``
    the live probe saw); else the release is unknown and the shape of current
    releases applies (see :mod:`wizard.releases` for why not a superset).
    """
    from wizard.releases import parse_release, shape_for

    for text in (answers.codestream.release, detected or ""):
        if text.strip():
            try:
                return shape_for(parse_release(text))
            except ValueError:
                continue  # a bad answers key is reported by validation
    return shape_for(None)


def _snippet(answers: Answers, shape: ConfigShape) -> tuple[bytes, bool]:
    """The CodeStream ``integrations`` JSON for ``shape``, and whether it holds a secret."""
    from wizard.releases import slack_properties

    integrations: dict[str, Any] = {}
    secret = False
    if answers.uses_slack:
        s = answers.slack
        block: dict[str, Any] = slack_properties(
            shape.slack_families,
            _value(s.app_id, "slack.app_id"),
            _value(s.client_id, "slack.client_id"),
            _value(s.client_secret, "slack.client_secret"),
            _value(s.signing_secret, "slack.signing_secret"),
        )
        block["interactiveComponentsEnabled"] = answers.exposes_bastion
        integrations["slack"] = {shape.slack_block: block}
        secret = secret or bool(s.client_secret.strip() or s.signing_secret.strip())
    if answers.uses_msteams:
        m = answers.msteams
        app_id = _value(m.app_id, "msteams.app_id")
        password = _value(m.app_password, "msteams.app_password")
        # One bot registration serves both pairs: botApp* is read up to API
        # 14.0.14, appClient* from 14.0.15 (wizard.releases).
        integrations["msteams"] = {
            shape.msteams_block: {
                "appClientId": app_id,
                "appClientSecret": password,
                "botAppId": app_id,
                "botAppPassword": password,
            }
        }
        secret = secret or bool(m.app_password.strip())
    text = json.dumps({"integrations": integrations}, indent=2, ensure_ascii=False)
    return (text + "\n").encode("utf-8"), secret


@dataclass(frozen=True)
class _Urls:
    bastion: str  # https://host[:port]
    slack: str
    slack_events: str
    msteams: str
    oauth_redirect: str


def _urls(answers: Answers, upstream: ApiTarget | None, server_name: str | None) -> _Urls:
    port = answers.bastion.listen_port
    host = server_name or "<BASTION_HOSTNAME>"
    bastion = f"https://{host}" if port == 443 else f"https://{host}:{port}"
    origin = upstream.url() if upstream else "https://<CODESTREAM_HOST>"
    base = f"{bastion}/no-auth/provider-action"
    return _Urls(
        bastion=bastion,
        slack=f"{base}/slack",
        slack_events=f"{base}/slack-events",
        msteams=f"{base}/msteams",
        oauth_redirect=f"{origin}{OAUTH_REDIRECT_PATH}",
    )


def _events_url(answers: Answers, urls: _Urls, shape: ConfigShape) -> str | None:
    """The Slack events URL to give Slack, or ``None``: no bastion, off, or no such route."""
    if not (answers.exposes_bastion and answers.slack.events) or shape.slack_events is False:
        return None
    return urls.slack_events


def _slack_manifests(answers: Answers, urls: _Urls, shape: ConfigShape) -> list[RenderedFile]:
    """The manifest to create the Slack app with, and the one that adds the events.

    Slack verifies an Event Subscriptions URL at once with a signed
    ``url_verification`` request, and CodeStream answers it only after checking
    the signature with the app's signing secret (``authorize()`` before
    ``process()`` in ``api_server/modules/providers/slack_events_request.js``).
    A manifest with the events URL therefore cannot be saved before the new
    app's signing secret is loaded into CodeStream: the app is created without
    events, and the second manifest (the same plus the events) is pasted into
    the app's manifest editor afterwards.
    """
    from wizard.provider_files import slack_manifest

    def encode(events_url: str | None) -> bytes:
        manifest = slack_manifest(
            app_name=answers.slack.app_name,
            oauth_redirect=urls.oauth_redirect,
            interactivity_url=urls.slack if answers.exposes_bastion else None,
            events_url=events_url,
        )
        return (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    files = [RenderedFile(SLACK_MANIFEST_NAME, encode(None), 0o644)]
    events_url = _events_url(answers, urls, shape)
    if events_url is not None:
        files.append(RenderedFile(SLACK_EVENTS_MANIFEST_NAME, encode(events_url), 0o644))
    return files


@dataclass
class _NginxPlan:
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
    locations: list[tuple[str, str]] = field(default_factory=list)  # (exact path, upstream path)

    def context(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _nginx_plan(
    answers: Answers,
    upstream: ApiTarget,
    features: NginxFeatures,
    resolvers: Sequence[str],
    ca_bundle: str | None,
    log_dir: str,
) -> _NginxPlan:
    from wizard.checks.hostname import to_ascii_hostname

    problems: list[str] = []
    nginx_resolvers: list[str] = []
    pinned = answers.codestream.upstream_address
    if pinned:
        address = ipaddress.ip_address(pinned).compressed
        static_target: str | None = f"{_bracketed(address)}:{upstream.port}"
        upstream_var = None
    elif upstream.host_is_ip:
        static_target = f"{_bracketed(upstream.host)}:{upstream.port}"
        upstream_var = None
    else:
        static_target = None
        upstream_var = f"{upstream.host}:{upstream.port}"
        for text in resolvers:
            try:
                nginx_resolvers.append(_nginx_resolver(text))
            except ValueError as exc:
                problems.append(f"--dns-server: {exc}")
        if not resolvers:
            problems.append(
                "codestream.upstream_address: nginx must resolve "
                f"{upstream.host} at run time but no DNS server was found (/etc/resolv.conf "
                "has no 'nameserver' line); pin the API's IP address in "
                "[codestream] upstream_address, or pass --dns-server ADDR"
            )
    trusted = answers.codestream.upstream_ca or ca_bundle or FALLBACK_CA_BUNDLE
    if upstream.scheme == "https" and not answers.codestream.upstream_ca:
        message = _path_problem(trusted, "CA bundle")
        if message:
            problems.append(f"--ca-bundle: {message}")
    log_problem = _path_problem(log_dir + "/x.log", "log directory")
    if log_problem:
        problems.append(f"log_dir: {log_problem}")
    if problems:
        raise RenderError(problems)
    locations: list[tuple[str, str]] = []
    for endpoint in answers.endpoints:
        locations.append((endpoint, endpoint))
        locations.append((endpoint + "/", endpoint + "/"))
    public_ip = answers.bastion.public_ip
    public = ipaddress.ip_address(public_ip) if public_ip else None
    public_v6 = public is not None and public.version == 6
    # A loopback "public" address (labs, the demo) binds there only, so the lab
    # proxy is not reachable from the network; real addresses listen on all
    # interfaces, as 1:1 NAT (cloud public IPs) needs.
    loopback = public is not None and public.is_loopback
    listen_address = "" if not loopback else (f"[{public}]" if public_v6 else str(public))
    log_base = log_dir.rstrip("/") or ""
    return _NginxPlan(
        port=answers.bastion.listen_port,
        listen_address=listen_address,
        listen_ipv6=(features.listen_ipv6 or public_v6) and not loopback,
        http2_listen=features.http2_listen,
        http2_directive=features.http2_directive,
        server_name=to_ascii_hostname(answers.bastion.hostname),
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
        locations=locations,
    )


def _render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> bytes:
    try:
        text = env.get_template(name).render(**context)
    except NginxQuoteError as exc:  # validation should have caught it: a bug, say so
        raise RenderError([f"internal: {exc} (please report this)"]) from exc
    return text.encode("utf-8")


def render_all(
    answers: Answers,
    *,
    features: NginxFeatures,
    resolvers: Sequence[str],
    ca_bundle: str | None,
    log_dir: str = DEFAULT_LOG_DIR,
    release: str | None = None,
) -> list[RenderedFile]:
    """Render every file for ``answers`` in memory (nothing is written).

    Args:
        answers: What the admin chose.
        features: What the installed nginx supports (:func:`detect_nginx_features`).
        resolvers: DNS servers for nginx's ``resolver`` (``ADDR[:PORT]``), usually
            the host's own from ``/etc/resolv.conf``; needed when the API host
            is a name and no address is pinned.
        ca_bundle: The system trust bundle for the upstream's certificate when
            ``codestream.upstream_ca`` is empty (``None``: the Debian path).
        log_dir: Directory of the bastion's own access and error logs.
        release: The API release the live probe found (``X-CS-API-Version``);
            ``[codestream] release`` overrides it (:func:`config_shape`).

    Returns:
        ``codestream-bastion.conf`` (not for ``slack-no-exposure``), the
        CodeStream snippet for that release (0600 when it holds a secret),
        ``next-steps.md``, ``slack-app-manifest.json`` when Slack is used and
        ``codestream-msteams-app.zip`` when Teams is used and its app id is known.

    Raises:
        RenderError: Naming every answers key that is not usable, and the fix.
    """
    problems, upstream = _problems(answers)
    if problems:
        raise RenderError(problems)
    from wizard.checks.hostname import to_ascii_hostname

    env = make_environment()
    files: list[RenderedFile] = []
    plan: _NginxPlan | None = None
    server_name: str | None = None
    if answers.exposes_bastion:
        assert upstream is not None  # guaranteed by _problems for exposing modes
        plan = _nginx_plan(answers, upstream, features, resolvers, ca_bundle, log_dir)
        server_name = plan.server_name
        conf = _render_template(env, NGINX_TEMPLATE, {**plan.context(), "version": __version__})
        files.append(RenderedFile(SERVER_CONF_NAME, conf, 0o644))
    elif answers.bastion.hostname and not _text_problem(answers.bastion.hostname):
        try:
            server_name = to_ascii_hostname(answers.bastion.hostname)
        except ValueError:
            server_name = None
    shape = config_shape(answers, release)
    snippet, secret = _snippet(answers, shape)
    files.append(RenderedFile(answers.output.snippet, snippet, 0o600 if secret else 0o644))
    urls = _urls(answers, upstream, server_name)
    teams_package = bool(
        answers.uses_msteams and answers.msteams.app_id.strip() and server_name is not None
    )
    placeholders = [
        placeholder
        for key, placeholder in PLACEHOLDERS.items()
        if _uses_section(answers, key) and not _answer(answers, key).strip()
    ]
    hostname_typed = answers.bastion.hostname.strip()
    context = {
        "version": __version__,
        "answers": answers,
        "mode_label": MODE_LABELS[answers.mode],
        "exposes": answers.exposes_bastion,
        "uses_slack": answers.uses_slack,
        "uses_msteams": answers.uses_msteams,
        "events": answers.slack.events,
        "urls": urls,
        "server_name": server_name,
        "hostname_typed": hostname_typed if hostname_typed.rstrip(".") != server_name else None,
        "port": answers.bastion.listen_port,
        "upstream": upstream,
        "plan": plan,
        "conf_name": SERVER_CONF_NAME,
        "snippet_name": answers.output.snippet,
        "snippet_secret": secret,
        "manifest_name": SLACK_MANIFEST_NAME,
        "events_manifest_name": SLACK_EVENTS_MANIFEST_NAME,
        "placeholders": placeholders,
        "endpoints": answers.endpoints,
        "shape": shape,
        "api_origin": urls.oauth_redirect.removesuffix(OAUTH_REDIRECT_PATH),
        "release_source": (
            "answers"
            if answers.codestream.release.strip()
            else ("probe" if shape.release is not None else None)
        ),
        "events_url": _events_url(answers, urls, shape) if answers.uses_slack else None,
        "teams_package": TEAMS_PACKAGE_NAME if teams_package else None,
        "teams_package_name": TEAMS_PACKAGE_NAME,
        "load": load_commands(answers.output.snippet),
    }
    next_steps = _render_template(env, NEXT_STEPS_TEMPLATE, context)
    files.append(RenderedFile(NEXT_STEPS_NAME, next_steps, 0o644))
    if answers.uses_slack:
        files += _slack_manifests(answers, urls, shape)
    if teams_package:
        from wizard.provider_files import teams_package as build_teams_package

        assert server_name is not None
        package = build_teams_package(answers.msteams.app_id, server_name)
        files.append(RenderedFile(TEAMS_PACKAGE_NAME, package, 0o644))
    return files


@dataclass(frozen=True)
class LoadCommands:
    """The exact commands that load the snippet on the CodeStream host.

    Database-backed releases: the control script's configuration tool, which
    is ``shared/codestream_configs/bin/mongo-config-loader.js`` in the server
    sources (``--dump active`` prints JSON; with ``--pretty`` it prints Node's
    ``util.inspect`` form, for reading only; ``--load FILE --desc TEXT
    --and-activate`` stores a whole configuration and activates it). The
    control script mounts ``~/.codestream`` at ``/opt/config``.

    Attributes:
        show: Show the active configuration (for a person).
        dump: Save the active configuration as JSON into ``~/.codestream``.
        merge: Merge the snippet into the dumped configuration.
        load: Load the merged file and activate it.
        restart: Restart the services.
        merge_file: Merge the snippet into the file-based configuration.
    """

    show: str
    dump: str
    merge: str
    load: str
    restart: str
    merge_file: str


MERGED_CONFIG_NAME = "codestream-config-with-messaging.json"


def load_commands(snippet_name: str) -> LoadCommands:
    """The commands of :class:`LoadCommands` for a snippet copied to ``~/.codestream``."""
    snippet = f"~/.codestream/{snippet_name}"
    merged = f"~/.codestream/{MERGED_CONFIG_NAME}"
    return LoadCommands(
        show="codestream --cfg-tool --dump active --pretty",
        dump=f"codestream --cfg-tool --dump active > {merged}",
        merge=f"codestream-bastion merge-config --snippet {snippet} --into {merged}",
        load=(
            f"codestream --cfg-tool --load /opt/config/{MERGED_CONFIG_NAME} "
            '--desc "Slack and Teams messaging (codestream-bastion)" --and-activate'
        ),
        restart="codestream --restart",
        merge_file=(
            f"codestream-bastion merge-config --snippet {snippet} "
            "--into ~/.codestream/codestream-services-config.json"
        ),
    )


def run_render(
    answers: Answers,
    out_dir: Path,
    stdout: TextIO,
    *,
    features: NginxFeatures | None = None,
    resolvers: Sequence[str] | None = None,
    ca_bundle: str | None = None,
) -> int:
    """The ``render`` command: write every file into ``out_dir`` (no network).

    Args:
        answers: The loaded answers.
        out_dir: Directory to write into (created when missing).
        stdout: Where to report what was written.
        features: nginx features (default: :func:`detect_nginx_features`).
        resolvers: nginx's DNS servers (default: the system's, ``/etc/resolv.conf``).
        ca_bundle: Trust bundle for the upstream (default: :func:`nginx_ca_bundle`).

    Returns:
        0 when every file was written; 2 when the answers cannot be rendered or
        the directory cannot be written (the message says which and why).
    """
    from wizard.probes.dns import system_nameservers

    if features is None:
        features = detect_nginx_features()
    if resolvers is None:
        resolvers = [str(server) for server in system_nameservers()]
    if ca_bundle is None:
        ca_bundle = nginx_ca_bundle()
    try:
        files = render_all(answers, features=features, resolvers=resolvers, ca_bundle=ca_bundle)
    except RenderError as exc:
        print(f"codestream-bastion render: {exc}", file=stdout)
        return 2
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for rendered in files:
            atomic_write(out_dir / rendered.name, rendered.content, rendered.mode)
            print(f"wrote {out_dir / rendered.name} (mode {rendered.mode:04o})", file=stdout)
    except OSError as exc:
        print(
            f"codestream-bastion render: cannot write into {out_dir}: "
            f"{exc.strerror or exc}; choose a writable directory with --out",
            file=stdout,
        )
        return 2
    print(f"next: read {out_dir / NEXT_STEPS_NAME}", file=stdout)
    return 0
