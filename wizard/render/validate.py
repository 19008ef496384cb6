"""Every answer checked before it can reach a template: offline, syntax only.

:func:`validate_for_render` lists every reason the answers cannot be rendered,
each as ``"key: problem and fix"``; the live checks are in :mod:`wizard.checks`.
Paths and texts that will be placed in the nginx file are refused when they
hold what nginx would read as something else (``$``, control characters,
blanks around the value).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from wizard.answers import DEFAULT_SNIPPET, MODES, Answers
from wizard.constants import (
    ANSWERS_NAME,
    NEXT_STEPS_NAME,
    SERVER_CONF_NAME,
    SLACK_EVENTS_MANIFEST_NAME,
    SLACK_MANIFEST_NAME,
)
from wizard.provider_files import TEAMS_PACKAGE_NAME
from wizard.render.core import bad_character

if TYPE_CHECKING:
    from wizard.checks.api_url import ApiTarget


_SNIPPET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_API_HOST = re.compile(r"[a-z0-9]([a-z0-9_.-]{0,251}[a-z0-9])?")
_RESERVED_NAMES = frozenset(
    {
        SERVER_CONF_NAME,
        NEXT_STEPS_NAME,
        SLACK_MANIFEST_NAME,
        SLACK_EVENTS_MANIFEST_NAME,
        TEAMS_PACKAGE_NAME,
        ANSWERS_NAME,
    }
)


def path_problem(value: str, what: str) -> str | None:
    """Why ``value`` cannot be an absolute file path in an nginx file, or ``None``."""
    if not value.strip():
        return f"is empty: give the absolute path of the {what}"
    bad = bad_character(value)
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


def text_problem(value: str) -> str | None:
    """Why a free text cannot be written as is (control characters, blanks around), or ``None``."""
    bad = bad_character(value)
    if bad is not None:
        return f"contains {bad}; remove it"
    if value != value.strip():
        return "has blanks before or after the value; remove them"
    return None


def _api_target(url: str) -> tuple[ApiTarget | None, str | None]:
    """The API's scheme, host and port from ``api_url``; (target, problem).

    :func:`wizard.checks.api_url.parse_api_url` does the validation; this
    adds what the nginx file needs on top: no IPv6 zone id (nginx cannot
    connect to one) and a host made of host-name characters only.
    """
    from wizard.checks.api_url import parse_api_url

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


def validation_problems(answers: Answers) -> tuple[list[str], ApiTarget | None]:
    """Every problem of ``answers`` (``"key: problem and fix"``), and the parsed API URL."""
    from wizard.checks.address import ip_syntax_error
    from wizard.checks.api_url import api_url_error, upstream_address_error
    from wizard.checks.hostname import hostname_syntax_error

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
        add("bastion.certificate", path_problem(b.certificate, "certificate chain (PEM)"))
        add("bastion.private_key", path_problem(b.private_key, "private key (PEM)"))
        port = b.listen_port
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
            add("bastion.listen_port", f"{port!r:.40} is not a TCP port; use 1-65535 (443)")
        _limit_problems(answers, add)
    if answers.exposes_bastion or cs.api_url:
        if not cs.api_url.strip():
            add(
                "codestream.api_url",
                "is empty: give the CodeStream API URL, e.g. https://codestream.my-company.com",
            )
        else:
            url_problem = text_problem(cs.api_url) or api_url_error(cs.api_url)
            if url_problem is None:
                upstream, url_problem = _api_target(cs.api_url)
            add("codestream.api_url", url_problem)
    if cs.public_api_url.strip():
        public_problem = text_problem(cs.public_api_url) or api_url_error(cs.public_api_url)
        if public_problem is None:
            public_problem = _api_target(cs.public_api_url)[1]
        add("codestream.public_api_url", public_problem)
    if answers.exposes_bastion:
        if cs.upstream_ca:
            add("codestream.upstream_ca", path_problem(cs.upstream_ca, "CA certificate file"))
        if cs.upstream_address:
            message = (
                text_problem(cs.upstream_address)
                or upstream_address_error(cs.upstream_address)
                or ("remove the zone id (%...)" if "%" in cs.upstream_address else None)
            )
            add("codestream.upstream_address", message)
    from wizard.provider_files import slack_app_name_error
    from wizard.releases import release_error

    add("codestream.release", text_problem(cs.release) or release_error(cs.release))
    if answers.uses_slack:
        for key in ("app_id", "client_id", "client_secret", "signing_secret"):
            add(f"slack.{key}", text_problem(getattr(answers.slack, key)))
        add(
            "slack.app_name",
            text_problem(answers.slack.app_name) or slack_app_name_error(answers.slack.app_name),
        )
        if not isinstance(answers.slack.events, bool):
            add("slack.events", "must be true or false")
    if answers.uses_msteams:
        for key in ("app_id", "app_password"):
            add(f"msteams.{key}", text_problem(getattr(answers.msteams, key)))
    add("output.snippet", snippet_problem(answers.output.snippet))
    nginx_conf = answers.output.nginx_conf
    if nginx_conf != "auto":
        message = path_problem(nginx_conf, "nginx server block")
        if message:
            add("output.nginx_conf", f'use "auto" or an absolute file path: {message}')
    return problems, upstream


def _limit_problems(answers: Answers, add: Callable[[str, str | None], None]) -> None:
    """The [bastion] limits and Teams source, for answers not loaded from a file (the wizard)."""
    from wizard.limits import DEFAULT_LIMITS, limit_problems

    b = answers.bastion
    limits = {key: getattr(b, key) for key in DEFAULT_LIMITS}
    for key, value in limits.items():
        if isinstance(value, bool) or not isinstance(value, int):
            add(f"bastion.{key}", f"{value!r:.40} is not a whole number; use 0 to turn it off")
            return
    for key, message in limit_problems(limits, b.teams_source, b.teams_ranges, partial=False):
        add(f"bastion.{key}", message)


def snippet_problem(name: str) -> str | None:
    """Why ``name`` cannot be the snippet's file name, or ``None``."""
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
    return validation_problems(answers)[0]
