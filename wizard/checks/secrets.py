"""Where the Slack and Teams secrets came from, and whether they are kept safe (``secrets.*``).

:mod:`wizard.secrets_source` reads ``K_file`` references and
``CODESTREAM_BASTION_<SECTION>_<KEY>`` variables when the answers are loaded;
this check reports what it found, never a value: which secret came from
where, a secret file that others can read (anyone on the host could read the
Slack signing secret and forge Slack's callbacks), and variables with the
right prefix that name no secret (a typo would otherwise be silently ignored).
"""

from __future__ import annotations

from wizard.findings import Finding, fail, ok, warn
from wizard.secrets_source import SECRET_KEYS, SecretSources, env_name


def check_secrets(sources: SecretSources) -> list[Finding]:
    """Findings about secrets read from files and the environment.

    Args:
        sources: What the answers loader recorded (``Answers.secret_sources``).

    Returns:
        ``secrets.*`` findings; none when every secret was typed into the file.
    """
    findings: list[Finding] = []
    described: list[str] = []
    for key, source in sorted(sources.by_key.items()):
        if source.kind == "env":
            note = (
                f" (overrides {source.overrides} in the answers file)" if source.overrides else ""
            )
            described.append(f"{key} from the environment variable {source.where}{note}")
            continue
        described.append(f"{key} from {source.where}")
        if source.mode is not None and source.mode & 0o004:
            findings.append(
                fail(
                    "secrets.file_readable",
                    f"The file holding {key} is readable by every user",
                    f"{source.where} has mode {source.mode:04o}: anyone on this host can read "
                    "the secret.",
                    f"chmod 600 {source.where} (or chmod o-rwx to keep a group's access), "
                    "owned by the user that runs codestream-bastion.",
                )
            )
    if described:
        findings.insert(
            0,
            ok(
                "secrets.sources",
                "Secrets read from outside the answers file",
                "; ".join(described),
            ),
        )
    for name in sources.unknown_variables:
        known = ", ".join(env_name(s, k) for s, keys in SECRET_KEYS.items() for k in keys)
        findings.append(
            warn(
                "secrets.unknown_variable",
                f"The environment variable {name} names no secret",
                f"It is ignored. The variables read are: {known}.",
                f"Fix the name (a typo?) or unset {name}.",
            )
        )
    return findings
