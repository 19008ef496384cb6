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

This face exports the names of the package's own modules; file names come from
:mod:`wizard.constants`, nginx's features from :mod:`wizard.nginx`.
"""

from __future__ import annotations

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
from wizard.render.files import render_all, slack_app_manifest
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
from wizard.render.slack import slack_create_app_link
from wizard.render.snippet import PLACEHOLDERS, config_shape
from wizard.render.validate import validate_for_render

__all__ = [
    "FALLBACK_CA_BUNDLE",
    "MERGED_CONFIG_NAME",
    "MOZILLA_INTERMEDIATE_CIPHERS",
    "NEXT_STEPS_TEMPLATE",
    "NGINX_TEMPLATE",
    "PLACEHOLDERS",
    "LoadCommands",
    "NginxQuoteError",
    "NginxToken",
    "RenderError",
    "RenderedFile",
    "config_shape",
    "load_commands",
    "make_environment",
    "nginx_ca_bundle",
    "nginx_int",
    "nginx_quote",
    "nginx_url_via_variable",
    "render_all",
    "slack_app_manifest",
    "slack_create_app_link",
    "validate_for_render",
]
