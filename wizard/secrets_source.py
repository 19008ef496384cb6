"""Secrets from outside the answers file: ``K_file`` references and environment variables.

The Slack and Teams secrets should not sit in clear in an answers file that
is committed or templated by automation. Every secret key ``K`` of
:data:`SECRET_KEYS` can therefore come from three places, highest first:

1. the environment variable ``CODESTREAM_BASTION_<SECTION>_<KEY>``
   (``CODESTREAM_BASTION_SLACK_CLIENT_SECRET``), when set and not empty;
2. ``K_file = "/absolute/path"`` in the answers file: the file's content,
   one trailing newline (``\\n`` or ``\\r\\n``) stripped;
3. ``K = "value"`` in the answers file.

Setting both ``K`` and ``K_file`` (non-empty) in one answers file is an error:
which one was meant cannot be guessed. An environment variable overrides
either without error (that is what it is for: Ansible or CI inject it at run
time) and the ``secrets.sources`` finding says so.

:func:`resolve_secrets` runs on the parsed TOML before the answers are
validated, so a value from a file or the environment is checked exactly like
one typed into the answers file. It remembers where each value came from
(:class:`SecretSources`), so :func:`saved_form` writes the reference back,
never the value, when the answers are saved.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from wizard.reading import BoundedReadError, read_bounded_stat

SECRET_KEYS: dict[str, tuple[str, ...]] = {
    "slack": ("client_secret", "signing_secret"),
    "msteams": ("app_password",),
}
"""The secret keys, by answers-file section."""
ENV_PREFIX = "CODESTREAM_BASTION_"
FILE_SUFFIX = "_file"
MAX_SECRET_BYTES = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def env_name(section: str, key: str) -> str:
    """The environment variable for a secret: ``CODESTREAM_BASTION_SLACK_CLIENT_SECRET``."""
    return f"{ENV_PREFIX}{section.upper()}_{key.upper()}"


@dataclass(frozen=True)
class SecretSource:
    """Where one secret's value came from (the value itself is never shown).

    Attributes:
        kind: ``file`` or ``env``.
        where: The file's path or the variable's name.
        value: The value read, to tell on save whether it was changed since.
        mode: The file's permission bits (``file`` only).
        overrides: What in the answers file the environment variable overrides.
    """

    kind: Literal["file", "env"]
    where: str
    value: str = field(repr=False)
    mode: int | None = None
    overrides: str = ""


@dataclass
class SecretSources:
    """What :func:`resolve_secrets` learnt, kept with the answers.

    Attributes:
        by_key: The source of each secret not typed into the answers file,
            by dotted key (``slack.client_secret``).
        unknown_variables: ``CODESTREAM_BASTION_SLACK_*``/``..._MSTEAMS_*``
            variables that name no secret (a typo would otherwise go unseen).
    """

    by_key: dict[str, SecretSource] = field(default_factory=dict)
    unknown_variables: tuple[str, ...] = ()


class SecretSourceError(Exception):
    """A secret that cannot be read, with the answers-file key at fault.

    Attributes:
        section: The answers-file table.
        key: The key at fault (``client_secret_file``, ``client_secret``).
        message: What is wrong and how to fix it.
    """

    def __init__(self, section: str, key: str, message: str) -> None:
        super().__init__(message)
        self.section = section
        self.key = key
        self.message = message


def _read_secret_file(section: str, key: str, path: str) -> tuple[str, int]:
    """The content of a secret file (one trailing newline stripped) and its mode."""
    where = f"{key}_file"

    def problem(text: str) -> SecretSourceError:
        return SecretSourceError(section, where, f"{path}: {text}")

    if not os.path.isabs(path):
        raise SecretSourceError(
            section, where, f"{path!r} is not an absolute path; give the full path (/...)."
        )
    try:
        # The one bounded reader: a regular file (by fstat), O_NONBLOCK, at most the cap.
        raw, info = read_bounded_stat(path, MAX_SECRET_BYTES)
    except BoundedReadError as exc:
        messages = {
            "missing": "no such file; create it or fix the path.",
            "directory": "is not a regular file; point at the file holding the secret.",
            "special": "is not a regular file; point at the file holding the secret.",
            "too_large": f"is larger than {MAX_SECRET_BYTES} bytes; is this really the secret?",
        }
        raise problem(
            messages.get(exc.kind, f"cannot be read ({exc.why}); run as root or fix its owner.")
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise problem("is not UTF-8 text; the file must hold the secret as text.") from None
    text = text.removesuffix("\n").removesuffix("\r")
    if not text:
        raise problem("is empty; write the secret into it.")
    if _CONTROL.search(text):
        raise problem("holds more than one line or a control character; keep only the secret.")
    return text, stat.S_IMODE(info.st_mode)


def _env_value(section: str, key: str, name: str, value: str) -> str:
    if _CONTROL.search(value):
        raise SecretSourceError(
            section, key, f"the environment variable {name} holds a newline or control character."
        )
    if len(value) > MAX_SECRET_BYTES:
        raise SecretSourceError(
            section, key, f"the environment variable {name} is over {MAX_SECRET_BYTES} characters."
        )
    return value


def _resolve_one(
    section: str, key: str, table: dict[str, Any], environ: Mapping[str, str]
) -> SecretSource | None:
    """Resolve one secret in ``table`` in place; its source, or ``None`` when typed in."""
    ref_key = key + FILE_SUFFIX
    path = table.pop(ref_key, "")
    if not isinstance(path, str):
        raise SecretSourceError(section, ref_key, "must be a string: the path of the secret file.")
    typed = table.get(key, "")
    if path and isinstance(typed, str) and typed:
        raise SecretSourceError(
            section,
            ref_key,
            f"both {key} and {ref_key} are set; keep one (the file keeps the secret out of "
            "the answers file).",
        )
    name = env_name(section, key)
    if environ.get(name):
        overridden = ref_key if path else (key if typed else "")
        return SecretSource(
            "env", name, _env_value(section, key, name, environ[name]), overrides=overridden
        )
    if path:
        value, mode = _read_secret_file(section, key, path)
        return SecretSource("file", path, value, mode)
    return None


def resolve_secrets(data: dict[str, Any], environ: Mapping[str, str]) -> SecretSources:
    """Replace ``K_file`` references and environment variables by values, in ``data``.

    Args:
        data: The parsed answers TOML; changed in place (``K_file`` keys are
            removed, ``K`` gets the value read).
        environ: The environment (``os.environ`` outside tests).

    Returns:
        Where each secret came from, and unknown ``CODESTREAM_BASTION_`` variables.

    Raises:
        SecretSourceError: A file that cannot be used, or ``K`` and ``K_file`` both set.
    """
    sources = SecretSources()
    for section, keys in SECRET_KEYS.items():
        table = data.get(section)
        if table is None:
            table = {}
        if not isinstance(table, dict):
            continue  # the answers loader names that error
        for key in keys:
            source = _resolve_one(section, key, table, environ)
            if source is not None:
                table[key] = source.value
                sources.by_key[f"{section}.{key}"] = source
        if table and section not in data:
            data[section] = table
    known = {env_name(s, k) for s, keys in SECRET_KEYS.items() for k in keys}
    prefixes = tuple(f"{ENV_PREFIX}{s.upper()}_" for s in SECRET_KEYS)
    sources.unknown_variables = tuple(
        sorted(n for n in environ if n.startswith(prefixes) and n not in known)
    )
    return sources


def saved_form(
    section: str, key: str, value: object, sources: SecretSources
) -> tuple[str, str, str] | None:
    """How to save a secret that came from outside the file: ``(comment, key, value)``.

    ``None`` when it was typed in, or changed since it was read (then the value
    itself is what the admin chose to save). A file reference is saved as
    ``K_file``; a value from the environment is not saved at all (``K = ""``).
    """
    source = sources.by_key.get(f"{section}.{key}")
    # Compare the plain characters: a wizard.answers.Secret masks its str().
    plain = str.__str__(value) if isinstance(value, str) else value
    if source is None or source.value != plain:
        return None
    if source.kind == "file":
        return "", key + FILE_SUFFIX, source.where
    return f"# {section}.{key} is read from the environment variable {source.where}", key, ""
