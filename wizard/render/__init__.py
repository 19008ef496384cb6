"""Render the bastion's files in memory, one module per artifact around one small core.

- :mod:`~wizard.render.core`: :class:`RenderedFile`, :class:`RenderError`, the
  nginx quoting filters and the Jinja2 environment every template uses.
- :mod:`~wizard.render.validate`: every answer checked before it reaches a template.
- :mod:`~wizard.render.nginx`: the nginx server block.
- :mod:`~wizard.render.snippet`: the CodeStream ``integrations`` snippet, per release.
- :mod:`~wizard.render.slack`: the Slack app manifests (the manifest body is
  :mod:`wizard.provider_files`, which also builds the Teams app package).
- :mod:`~wizard.render.next_steps`: ``next-steps.md`` and the commands that load the snippet.
- :mod:`~wizard.render.files`: :func:`render_all`, every file for a set of answers.
- :mod:`~wizard.render.command`: the ``render`` command.

This face re-exports every name the other layers and the tests import.
"""

from __future__ import annotations

from wizard.constants import (
    DEFAULT_LOG_DIR,
    NEXT_STEPS_NAME,
    OAUTH_REDIRECT_PATH,
    SERVER_CONF_NAME,
    SLACK_EVENTS_MANIFEST_NAME,
    SLACK_MANIFEST_NAME,
)
from wizard.nginx.binary import (
    ECDH_CURVES_NIST,
    ECDH_CURVES_X25519,
    NginxFeatures,
    detect_nginx_features,
    find_binary,
    host_supports_ipv6,
    parse_nginx_v,
)
from wizard.provider_files import TEAMS_PACKAGE_NAME
from wizard.render.command import run_render
from wizard.render.core import (
    NginxQuoteError,
    NginxToken,
    RenderedFile,
    RenderError,
    make_environment,
    nginx_int,
    nginx_quote,
    nginx_url_via_variable,
)
from wizard.render.files import render_all
from wizard.render.next_steps import (
    MERGED_CONFIG_NAME,
    NEXT_STEPS_TEMPLATE,
    LoadCommands,
    load_commands,
)
from wizard.render.nginx import (
    FALLBACK_CA_BUNDLE,
    MOZILLA_INTERMEDIATE_CIPHERS,
    NGINX_TEMPLATE,
    nginx_ca_bundle,
)
from wizard.render.snippet import PLACEHOLDERS, config_shape
from wizard.render.validate import validate_for_render

# TODO(issue 9): re-point after merge: the nginx lookup's old name here (tests' harness).
find_nginx = find_binary

__all__ = [
    "DEFAULT_LOG_DIR",
    "ECDH_CURVES_NIST",
    "ECDH_CURVES_X25519",
    "FALLBACK_CA_BUNDLE",
    "MERGED_CONFIG_NAME",
    "MOZILLA_INTERMEDIATE_CIPHERS",
    "NEXT_STEPS_NAME",
    "NEXT_STEPS_TEMPLATE",
    "NGINX_TEMPLATE",
    "OAUTH_REDIRECT_PATH",
    "PLACEHOLDERS",
    "SERVER_CONF_NAME",
    "SLACK_EVENTS_MANIFEST_NAME",
    "SLACK_MANIFEST_NAME",
    "TEAMS_PACKAGE_NAME",
    "LoadCommands",
    "NginxFeatures",
    "NginxQuoteError",
    "NginxToken",
    "RenderError",
    "RenderedFile",
    "config_shape",
    "detect_nginx_features",
    "find_nginx",
    "host_supports_ipv6",
    "load_commands",
    "make_environment",
    "nginx_ca_bundle",
    "nginx_int",
    "nginx_quote",
    "nginx_url_via_variable",
    "parse_nginx_v",
    "render_all",
    "run_render",
    "validate_for_render",
]
