"""Every file for a set of answers, in memory: :func:`render_all`, the one entry.

Everything is produced as :class:`~wizard.render.core.RenderedFile` objects
first (as Copier does), so the installer can diff, back up and write
atomically, and ``render`` can write them into a directory. Nothing here
touches the network.
"""

from __future__ import annotations

from collections.abc import Sequence

from wizard.answers import Answers
from wizard.constants import DEFAULT_LOG_DIR
from wizard.nginx.binary import NginxFeatures
from wizard.provider_files import TEAMS_PACKAGE_NAME
from wizard.render.core import RenderedFile, RenderError, make_environment
from wizard.render.next_steps import NextStepsFacts, render_next_steps
from wizard.render.nginx import NginxPlan, nginx_plan, render_server_block
from wizard.render.slack import slack_manifests
from wizard.render.snippet import config_shape, render_snippet
from wizard.render.urls import make_urls
from wizard.render.validate import text_problem, validation_problems


def _typed_server_name(answers: Answers) -> str | None:
    """The bastion's ASCII name when the mode exposes nothing but a name was typed."""
    from wizard.checks.hostname import to_ascii_hostname

    hostname = answers.bastion.hostname
    if not hostname or text_problem(hostname):
        return None
    try:
        return to_ascii_hostname(hostname)
    except ValueError:
        return None


def _teams_package(
    answers: Answers, server_name: str | None, previous: bytes | None
) -> RenderedFile | None:
    """The Teams app package, when Teams is used and its app id and the name are known."""
    if not (answers.uses_msteams and answers.msteams.app_id.strip() and server_name is not None):
        return None
    from wizard.provider_files import teams_package

    package = teams_package(answers.msteams.app_id, server_name, previous)
    return RenderedFile(TEAMS_PACKAGE_NAME, package, 0o644)


def _version_of(teams: RenderedFile | None) -> str | None:
    """The Teams package's manifest version, ``None`` without a package."""
    from wizard.provider_files import previous_manifest

    manifest = previous_manifest(teams.content) if teams is not None else None
    return str(manifest.get("version")) if manifest is not None else None


def render_all(
    answers: Answers,
    *,
    features: NginxFeatures,
    resolvers: Sequence[str],
    ca_bundle: str | None,
    log_dir: str = DEFAULT_LOG_DIR,
    release: str | None = None,
    previous_teams_package: bytes | None = None,
) -> list[RenderedFile]:
    """Render every file for ``answers`` in memory (nothing is written).

    Args:
        answers: What the admin chose.
        features: What the installed nginx supports
            (:func:`wizard.nginx.detect_nginx_features`).
        resolvers: DNS servers for nginx's ``resolver`` (``ADDR[:PORT]``), usually
            the host's own from ``/etc/resolv.conf``; needed when the API host
            is a name and no address is pinned.
        ca_bundle: The system trust bundle for the upstream's certificate when
            ``codestream.upstream_ca`` is empty (``None``: the Debian path).
        log_dir: Directory of the bastion's own access and error logs.
        release: The API release the live probe found (``X-CS-API-Version``);
            ``[codestream] release`` overrides it (:func:`config_shape`).
        previous_teams_package: The Teams package written before (``render``
            reads it from its output directory), so the new one's version goes
            up exactly when its content changed.

    Returns:
        ``codestream-bastion.conf`` (not for ``slack-no-exposure``), the
        CodeStream snippet for that release (0600 when it holds a secret),
        ``next-steps.md``, ``slack-app-manifest.json`` when Slack is used and
        ``codestream-msteams-app.zip`` when Teams is used and its app id is known.

    Raises:
        RenderError: Naming every answers key that is not usable, and the fix.
    """
    problems, upstream = validation_problems(answers)
    if problems:
        raise RenderError(problems)
    env = make_environment()
    files: list[RenderedFile] = []
    plan: NginxPlan | None = None
    if answers.exposes_bastion:
        assert upstream is not None  # guaranteed by validation for exposing modes
        plan = nginx_plan(answers, upstream, features, resolvers, ca_bundle, log_dir)
        files.append(render_server_block(env, plan))
    server_name = plan.server_name if plan is not None else _typed_server_name(answers)
    shape = config_shape(answers, release)
    snippet, secret = render_snippet(answers, shape)
    files.append(RenderedFile(answers.output.snippet, snippet, 0o600 if secret else 0o644))
    urls = make_urls(answers, upstream, server_name)
    teams = _teams_package(answers, server_name, previous_teams_package)
    facts = NextStepsFacts(urls, upstream, plan, server_name, shape, secret, _version_of(teams))
    files.append(render_next_steps(env, answers, facts))
    if answers.uses_slack:
        files += slack_manifests(answers, urls, shape)
    if teams is not None:
        files.append(teams)
    return files
