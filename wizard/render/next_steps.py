"""``next-steps.md``: what to do in CodeStream, Slack and Teams, in order, with exact commands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wizard import __version__
from wizard.answers import MODE_LABELS, Answers
from wizard.constants import (
    NEXT_STEPS_NAME,
    SERVER_CONF_NAME,
    SLACK_EVENTS_MANIFEST_NAME,
    SLACK_MANIFEST_NAME,
)
from wizard.provider_files import TEAMS_PACKAGE_NAME
from wizard.releases import (
    ADMIN_APP_REMOVED,
    CLOUD_BLOCK_SINCE,
    DISABLED_HONOURED_SINCE,
    SLACK_BOT_SCOPES_SINCE,
    SLACK_OAUTH_V2_SINCE,
    TEAMS_APP_CLIENT_SINCE,
    TEAMS_SIGNIN_CODE_SINCE,
    ConfigShape,
    format_release,
    has_admin_app,
    slack_manifest_applies,
    teams_oauth_client,
)
from wizard.render.core import RenderedFile, render_template
from wizard.render.slack import declares_bot_user
from wizard.render.snippet import PLACEHOLDERS, answer_value, uses_section
from wizard.render.urls import Urls, events_url

if TYPE_CHECKING:
    import jinja2

    from wizard.checks.api_url import ApiTarget
    from wizard.render.nginx import NginxPlan

NEXT_STEPS_TEMPLATE = "next-steps.md.j2"


@dataclass(frozen=True)
class LoadCommands:
    """The exact commands that load the snippet on the CodeStream host.

    Database-backed releases: the control script's configuration tool, which
    is ``shared/codestream_configs/bin/mongo-config-loader.js`` in the server
    sources (``--dump active`` prints JSON; with ``--pretty`` it prints Node's
    ``util.inspect`` form, for reading only; ``--load FILE --desc TEXT
    --and-activate`` stores a whole configuration and activates it). The
    control script mounts ``~/.codestream`` at ``/opt/config``. Its
    ``run_script_via_api`` echoes the ``docker run ...`` line to standard
    output first, and the loader logs ``loading schema (...)`` (and, before
    the ``quiet`` option of commit 5ee15972c, ``connecting to ...``) with
    ``console.log``, so a redirected dump starts with those lines:
    ``merge-config`` skips them (:func:`wizard.merge_config.parse_config_text`).

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
FILE_CONFIG_NAME = "codestream-services-config.json"
LOAD_DESC = "Slack and Teams messaging (codestream-bastion)"


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
            f'--desc "{LOAD_DESC}" --and-activate'
        ),
        restart="codestream --restart",
        merge_file=(
            f"codestream-bastion merge-config --snippet {snippet} "
            f"--into ~/.codestream/{FILE_CONFIG_NAME}"
        ),
    )


@dataclass(frozen=True)
class LoadSteps:
    """How this release loads the snippet, and where each command runs.

    The method comes from :func:`wizard.releases.load_method` (sources there).
    The merge runs on the bastion, where codestream-bastion is installed: the
    configuration is copied over and the merged file back, so nothing needs
    installing on the CodeStream host (``jq`` there is the other way).

    Attributes:
        method: ``cfg-tool``, ``loader`` or ``file``.
        since: The release range of the method, for the text.
        tell: The command that says whether the API reads a file or the database.
        get: Commands on the CodeStream host that save the configuration to merge.
        fetch: On the bastion: copy it here.
        merge: On the bastion: merge the snippet into it.
        put: On the bastion: copy the merged file back.
        jq: On the CodeStream host, instead of the three above (needs ``jq``).
        load: Commands on the CodeStream host that load it, then restart.
        target: The file merged into (its name on both hosts).
        file_merge: On the bastion, for an API that reads the file instead:
            copy ``codestream-services-config.json`` here, merge, copy it back.
    """

    method: str
    since: str
    tell: str
    get: tuple[str, ...]
    fetch: str
    merge: str
    put: str
    jq: str
    load: tuple[str, ...]
    target: str
    file_merge: tuple[str, str, str]


def bastion_merge(target: str, snippet_name: str) -> tuple[str, str, str]:
    """Copy ``target`` from the CodeStream host, merge the snippet into it, copy it back."""
    return (
        f"scp CODESTREAM_HOST:.codestream/{target} {target}",
        f"codestream-bastion merge-config --snippet {snippet_name} --into {target}",
        f"scp {target} CODESTREAM_HOST:.codestream/{target}",
    )


def load_steps(shape: ConfigShape, snippet_name: str) -> LoadSteps:
    """The :class:`LoadSteps` of ``shape``'s release (the current method when unknown)."""
    from wizard.releases import (
        CFG_TOOL_SINCE,
        CONFIG_ACTIVATE_SINCE,
        CONFIG_LOADER_SINCE,
        load_method,
    )

    method = load_method(shape.release)
    commands = load_commands(snippet_name)
    target = FILE_CONFIG_NAME if method == "file" else MERGED_CONFIG_NAME
    get: tuple[str, ...] = ()
    load: tuple[str, ...] = (commands.restart,)
    if method == "cfg-tool":
        since = f"{format_release(CFG_TOOL_SINCE)} and later"
        get = (commands.dump,)
        load = (commands.load, commands.restart)
    elif method == "loader":
        since = f"{format_release(CONFIG_LOADER_SINCE)} to 8.2.24"
        loader = 'mongo-config-loader.js --mongo-url "$CSSVC_CFG_URL"'
        get = (f"{loader} --report-cfg", f"{loader} --show-cfg SERIAL > {target}")
        load = (f"{loader} --add-cfg-file {target}",)
        if shape.release is not None and shape.release >= CONFIG_ACTIVATE_SINCE:
            load += (f"{loader} --activate-cfg NEW_SERIAL",)
        load += (commands.restart,)
    else:
        since = f"before {format_release(CONFIG_LOADER_SINCE)}"
    fetch, merge, put = bastion_merge(target, snippet_name)
    return LoadSteps(
        method=method,
        since=since,
        tell="docker exec API_CONTAINER env | grep -E 'CSSVC_CFG_(FILE|URL)|CS_API_CFG_FILE'",
        get=get,
        fetch=fetch,
        merge=merge,
        put=put,
        jq=(
            f"sed -n '/^{{/,$p' ~/.codestream/{target} | jq -s '.[0] * .[1]' - "
            f"~/.codestream/{snippet_name} > ~/.codestream/{target}.new && "
            f"mv ~/.codestream/{target}.new ~/.codestream/{target}"
        ),
        load=load,
        target=target,
        file_merge=bastion_merge(FILE_CONFIG_NAME, snippet_name),
    )


@dataclass(frozen=True)
class NextStepsFacts:
    """What the other artifacts decided, that the next steps must tell.

    Attributes:
        urls: The URLs the providers are given.
        upstream: The API's scheme, host and port, when the URL is usable.
        plan: The server block's values, when there is one.
        server_name: The bastion's name in ASCII, when known.
        shape: What the CodeStream release reads.
        snippet_secret: Whether the snippet holds a secret (it is then 0600).
        teams_package: The Teams package's manifest version, ``None`` when none was written.
    """

    urls: Urls
    upstream: ApiTarget | None
    plan: NginxPlan | None
    server_name: str | None
    shape: ConfigShape
    snippet_secret: bool
    teams_package: str | None


def _placeholders(answers: Answers) -> Sequence[str]:
    return [
        placeholder
        for key, placeholder in PLACEHOLDERS.items()
        if uses_section(answers, key) and not answer_value(answers, key).strip()
    ]


def _context(answers: Answers, facts: NextStepsFacts) -> dict[str, Any]:
    """The template's variables (``next-steps.md.j2`` names every one of them)."""
    hostname_typed = answers.bastion.hostname.strip()
    shape = facts.shape
    return {
        "version": __version__,
        "answers": answers,
        "mode_label": MODE_LABELS[answers.mode],
        "exposes": answers.exposes_bastion,
        "uses_slack": answers.uses_slack,
        "uses_msteams": answers.uses_msteams,
        "events": answers.slack.events,
        "urls": facts.urls,
        "server_name": facts.server_name,
        "hostname_typed": (
            hostname_typed if hostname_typed.rstrip(".") != facts.server_name else None
        ),
        "port": answers.bastion.listen_port,
        "upstream": facts.upstream,
        "plan": facts.plan,
        "conf_name": SERVER_CONF_NAME,
        "snippet_name": answers.output.snippet,
        "snippet_secret": facts.snippet_secret,
        "manifest_name": SLACK_MANIFEST_NAME,
        "events_manifest_name": SLACK_EVENTS_MANIFEST_NAME,
        "placeholders": _placeholders(answers),
        "endpoints": answers.endpoints,
        "shape": shape,
        "api_origin": facts.upstream.url() if facts.upstream else facts.urls.api_origin,
        "release_source": (
            "answers"
            if answers.codestream.release.strip()
            else ("probe" if shape.release is not None else None)
        ),
        "events_url": events_url(answers, facts.urls, shape) if answers.uses_slack else None,
        "teams_package": TEAMS_PACKAGE_NAME if facts.teams_package else None,
        "teams_version": facts.teams_package,
        "teams_package_name": TEAMS_PACKAGE_NAME,
        "load": load_commands(answers.output.snippet),
        "steps": load_steps(shape, answers.output.snippet),
        "file_config_name": FILE_CONFIG_NAME,
        "admin_app": has_admin_app(shape.release),
        "admin_app_removed": format_release(ADMIN_APP_REMOVED),
        "teams_oauth": teams_oauth_client(shape.release),
        "teams_signin_code": shape.release is None or shape.release >= TEAMS_SIGNIN_CODE_SINCE,
        "teams_signin_code_since": format_release(TEAMS_SIGNIN_CODE_SINCE),
        "teams_app_client_since": format_release(TEAMS_APP_CLIENT_SINCE),
        "manifest_applies": slack_manifest_applies(shape.release),
        "bot_user": declares_bot_user(answers, shape),
        "oauth_v2_since": format_release(SLACK_OAUTH_V2_SINCE),
        "bot_scopes_since": format_release(SLACK_BOT_SCOPES_SINCE),
        "cloud_since": format_release(CLOUD_BLOCK_SINCE),
        "disabled_since": format_release(DISABLED_HONOURED_SINCE),
    }


def render_next_steps(
    env: jinja2.Environment, answers: Answers, facts: NextStepsFacts
) -> RenderedFile:
    """``next-steps.md`` for ``answers``."""
    return RenderedFile(
        NEXT_STEPS_NAME, render_template(env, NEXT_STEPS_TEMPLATE, _context(answers, facts)), 0o644
    )
