"""The answers model: what the admin chose, loaded from and saved to TOML.

The answers file (README.md, "The answers file") is the contract between the wizard and
the headless commands. Loading is strict: unknown tables, keys and modes are
errors that name the file, the key and the line, so a typo never silently
falls back to a default. Semantic checks (is the hostname valid, does it
resolve) are the job of :mod:`wizard.checks`; this module guarantees shape,
types and that no value carries control characters.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from wizard.compat import tomllib
from wizard.constants import MSTEAMS_ENDPOINT, SLACK_ENDPOINT, SLACK_EVENTS_ENDPOINT
from wizard.fsutil import atomic_write
from wizard.limits import DEFAULT_LIMITS, limit_problems
from wizard.secrets_source import SecretSourceError, SecretSources, resolve_secrets, saved_form

MODES: tuple[str, ...] = ("slack", "msteams", "slack+msteams", "slack-no-exposure")
MODE_LABELS: dict[str, str] = {
    "slack": "Slack",
    "msteams": "Microsoft Teams",
    "slack+msteams": "Slack and Microsoft Teams",
    "slack-no-exposure": "Slack only, without exposure (no replies from Slack)",
}
DEFAULT_SNIPPET = "codestream-messaging.json"
DEFAULT_SLACK_APP_NAME = "CodeStream OnPrem"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MAX_VALUE = 4096
MAX_ANSWERS_BYTES = 1024 * 1024
"""An answers file is a few hundred bytes; anything over 1 MiB is not one."""
SECRET_KEYS: frozenset[str] = frozenset(
    {"slack.client_secret", "slack.signing_secret", "msteams.app_password"}
)
"""The answers keys that hold secrets (masked everywhere they could be shown)."""
MASK = "********"


class Secret(str):
    """A secret string: its ``repr`` and ``str`` are masked.

    A secret ends up in tracebacks (Textual's crash screen shows locals), logs
    and f-strings only as ``********``. It still compares, hashes, slices and
    serialises (``json.dumps`` and the TOML writer read the characters, not
    ``str()``) as the value; :meth:`reveal` gives the plain string where the
    value itself is needed.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return f"Secret({MASK!r})" if self else "Secret('')"

    def __str__(self) -> str:
        return MASK if self else ""

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)

    def reveal(self) -> str:
        """The secret itself, as a plain ``str``."""
        return str.__str__(self)


def reveal(value: str) -> str:
    """The plain value of ``value`` (a :class:`Secret` or any ``str``)."""
    return str.__str__(value)


class AnswersError(Exception):
    """An answers file that cannot be used, with where and why.

    Attributes:
        source: The file (or ``<string>``).
        message: What is wrong and how to fix it.
        key: The dotted key at fault, when known.
        line: The 1-based line, when known.
    """

    def __init__(
        self, source: str, message: str, key: str | None = None, line: int | None = None
    ) -> None:
        self.source = source
        self.message = message
        self.key = key
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        what = f" key '{self.key}':" if self.key else ""
        return f"{where}:{what} {self.message}"


@dataclass
class BastionAnswers:
    """The internet-facing host."""

    hostname: str = ""
    public_ip: str = ""
    certificate: str = ""
    private_key: str = ""
    listen_port: int = 443
    # Per-client limits on the bot routes and the Teams route's sources (wizard/limits.py).
    requests_per_second: int = DEFAULT_LIMITS["requests_per_second"]
    request_burst: int = DEFAULT_LIMITS["request_burst"]
    connections_per_client: int = DEFAULT_LIMITS["connections_per_client"]
    teams_source: str = "any"
    teams_ranges: str = ""


@dataclass
class CodeStreamAnswers:
    """The internal CodeStream API the bastion forwards to."""

    api_url: str = ""
    upstream_ca: str = ""
    upstream_address: str = ""
    # The API URL users' browsers and CodeStream's own links use (its
    # apiServer.publicApiUrl); empty: api_url. Every OAuth redirect is built on it.
    public_api_url: str = ""
    # The API release (X-CS-API-Version) the snippet is written for; empty: the
    # release the live probe finds, else the form of current releases.
    release: str = ""


@dataclass
class SlackAnswers:
    """Slack app credentials (optional; placeholders are written where empty)."""

    app_id: str = ""
    client_id: str = ""
    client_secret: str = ""
    signing_secret: str = ""
    events: bool = True
    # The name of the Slack app in the manifest (Slack requires one to import it).
    app_name: str = DEFAULT_SLACK_APP_NAME


@dataclass
class MSTeamsAnswers:
    """Microsoft Teams bot credentials (optional)."""

    app_id: str = ""
    app_password: str = ""


@dataclass
class OutputAnswers:
    """Where the generated files go."""

    nginx_conf: str = "auto"
    snippet: str = DEFAULT_SNIPPET


@dataclass
class Answers:
    """Everything the wizard asks, as in the answers file."""

    mode: str = "slack+msteams"
    bastion: BastionAnswers = field(default_factory=BastionAnswers)
    codestream: CodeStreamAnswers = field(default_factory=CodeStreamAnswers)
    slack: SlackAnswers = field(default_factory=SlackAnswers)
    msteams: MSTeamsAnswers = field(default_factory=MSTeamsAnswers)
    output: OutputAnswers = field(default_factory=OutputAnswers)
    # Where secrets read from a K_file or the environment came from (see
    # wizard.secrets_source); saved back as references, never as values.
    secret_sources: SecretSources = field(default_factory=SecretSources, repr=False, compare=False)

    @property
    def exposes_bastion(self) -> bool:
        """False only for Slack without exposure, which needs no bastion at all."""
        return self.mode != "slack-no-exposure"

    @property
    def uses_slack(self) -> bool:
        """True when Slack is part of the chosen mode."""
        return self.mode.startswith("slack")

    @property
    def uses_msteams(self) -> bool:
        """True when Microsoft Teams is part of the chosen mode."""
        return "msteams" in self.mode

    @property
    def endpoints(self) -> tuple[str, ...]:
        """The API paths the bastion must expose, in a stable order."""
        if not self.exposes_bastion:
            return ()
        paths: list[str] = []
        if self.uses_slack:
            paths.append(SLACK_ENDPOINT)
            if self.slack.events:
                paths.append(SLACK_EVENTS_ENDPOINT)
        if self.uses_msteams:
            paths.append(MSTEAMS_ENDPOINT)
        return tuple(paths)

    def copy(self) -> Answers:
        """A deep copy (sections are mutable dataclasses)."""
        return replace(
            self,
            bastion=replace(self.bastion),
            codestream=replace(self.codestream),
            slack=replace(self.slack),
            msteams=replace(self.msteams),
            output=replace(self.output),
        )


_SECTIONS: dict[str, type[Any]] = {
    "bastion": BastionAnswers,
    "codestream": CodeStreamAnswers,
    "slack": SlackAnswers,
    "msteams": MSTeamsAnswers,
    "output": OutputAnswers,
}
_TYPE_NAMES = {str: "a string", int: "an integer", bool: "true or false"}
# Keys a complete answers file must set, by whether the mode exposes a bastion.
_REQUIRED_EXPOSED = (
    "bastion.hostname",
    "bastion.public_ip",
    "bastion.certificate",
    "bastion.private_key",
    "codestream.api_url",
)


def _field_types(cls: type[Any]) -> dict[str, type[Any]]:
    defaults = cls()
    return {f.name: type(getattr(defaults, f.name)) for f in fields(cls)}


def _locate(text: str, table: str | None, key: str) -> int | None:
    """Best-effort line number of ``key`` in ``table`` (tomllib gives none)."""
    current: str | None = None
    key_re = re.compile(rf"""^\s*(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')\s*=""")
    dotted = re.compile(rf"^\s*{re.escape(table)}\.{re.escape(key)}\s*=") if table else None
    for number, line in enumerate(text.splitlines(), start=1):
        header = re.match(r"^\s*\[\s*([^\]]+?)\s*\]", line)
        if header:
            current = header.group(1).strip().strip("\"'")
            if table is not None and key == "" and current == table:
                return number
            continue
        if current == table and key and key_re.match(line):
            return number
        if current is None and dotted is not None and dotted.match(line):
            return number
    return None


def _toml_type(value: Any) -> str:
    """The TOML name of a parsed value's type (never the value)."""
    names = {bool: "a boolean", int: "an integer", float: "a float", str: "a string"}
    for kind, name in names.items():
        if type(value) is kind:
            return name
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    return "a date or time"


def _check_value(
    source: str, text: str, table: str | None, key: str, value: Any, want: type[Any]
) -> Any:
    dotted = f"{table}.{key}" if table else key
    ok = isinstance(value, want) and not (want is int and isinstance(value, bool))
    if not ok:
        raise AnswersError(
            source,
            # The value itself is never echoed: it may be a secret typed in the wrong place.
            f"must be {_TYPE_NAMES[want]}, not {_toml_type(value)}.",
            dotted,
            _locate(text, table, key),
        )
    if isinstance(value, str):
        if dotted in SECRET_KEYS:
            value = Secret(value)
        if _CONTROL.search(value):
            raise AnswersError(
                source,
                "contains a control character (newline, tab, NUL ...); remove it.",
                dotted,
                _locate(text, table, key),
            )
        if len(value) > _MAX_VALUE:
            raise AnswersError(
                source,
                f"is {len(value)} characters long; at most {_MAX_VALUE} are allowed.",
                dotted,
                _locate(text, table, key),
            )
    return value


def loads_answers(
    text: str,
    source: str = "<string>",
    *,
    partial: bool = False,
    environ: Mapping[str, str] | None = None,
) -> Answers:
    """Parse answers from TOML text.

    Args:
        text: The TOML document.
        source: Name used in error messages (usually the file path).
        partial: Accept a file that does not yet set every required key (the
            wizard's resume state); headless commands pass ``False``.
        environ: Where ``CODESTREAM_BASTION_<SECTION>_<KEY>`` secrets are read
            (default ``os.environ``); see :mod:`wizard.secrets_source`.

    Returns:
        The answers, with defaults for keys the file does not set.

    Raises:
        AnswersError: On a syntax error, an unknown table, key or mode, a value of
            the wrong type, or (unless ``partial``) a missing required key.
    """
    data = _parse_toml(text, source)
    try:
        secrets = resolve_secrets(data, os.environ if environ is None else environ)
    except SecretSourceError as exc:
        raise AnswersError(
            source,
            exc.message,
            f"{exc.section}.{exc.key}",
            _locate(text, exc.section, exc.key),
        ) from None
    answers = Answers(secret_sources=secrets)
    for top_key, value in data.items():
        _set_top_level(answers, top_key, value, source, text)
    _check_complete(answers, "mode" in data, source, text, partial=partial)
    return answers


def _parse_toml(text: str, source: str) -> dict[str, Any]:
    """The TOML document, refused with a message when it cannot be an answers file."""
    if not text.strip():
        raise AnswersError(
            source,
            "the answers file is empty. Run the wizard to create one, or start from the "
            "example in the README (it needs at least 'mode').",
        )
    if len(text) > MAX_ANSWERS_BYTES:
        raise AnswersError(
            source,
            f"is larger than {MAX_ANSWERS_BYTES // 1024} KiB; is this really the answers file?",
        )
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise AnswersError(source, "holds a NUL byte; is this really the answers file?", line=line)
    try:
        data = tomllib.loads(text)
    except RecursionError:
        # tomllib recurses once per nested array or inline table.
        raise AnswersError(
            source,
            "nests arrays or tables too deeply to be an answers file; "
            "check the brackets on that line.",
            line=_deepest_line(text),
        ) from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        at: int | None = int(match.group(1)) if match else None
        if at is None and "end of document" in str(exc):
            at = len(text.splitlines())
        raise AnswersError(
            source,
            f"not valid TOML: {exc}. Check quoting and brackets on that line.",
            line=at,
        ) from None
    return data


def _set_top_level(answers: Answers, top_key: str, value: Any, source: str, text: str) -> None:
    """Set ``mode`` or one ``[table]`` of the document on ``answers``, each value checked."""
    if top_key == "mode":
        mode = _check_value(source, text, None, "mode", value, str)
        if mode not in MODES:
            raise AnswersError(
                source,
                # The one value echoed: mode is never a secret, and the typo is the clue.
                f"unknown mode {mode!r:.40}; use one of: {', '.join(MODES)}.",
                "mode",
                _locate(text, None, "mode"),
            )
        answers.mode = mode
        return
    section_cls = _SECTIONS.get(top_key)
    if section_cls is None:
        raise AnswersError(
            source,
            f"unknown key or table '{top_key}'; the answers file knows: mode, "
            + ", ".join(f"[{name}]" for name in _SECTIONS)
            + ".",
            top_key,
            _locate(text, top_key, "") or _locate(text, None, top_key),
        )
    if not isinstance(value, dict):
        raise AnswersError(
            source,
            f"must be a table ([{top_key}]), not a single value.",
            top_key,
            _locate(text, None, top_key),
        )
    types = _field_types(section_cls)
    section = getattr(answers, top_key)
    for key, item in value.items():
        if key not in types:
            raise AnswersError(
                source,
                f"unknown key; [{top_key}] knows: {', '.join(types)}.",
                f"{top_key}.{key}",
                _locate(text, top_key, key),
            )
        setattr(section, key, _check_value(source, text, top_key, key, item, types[key]))


def _check_complete(
    answers: Answers, has_mode: bool, source: str, text: str, *, partial: bool
) -> None:
    """The port in range and, unless ``partial``, every key the mode requires set."""
    if not has_mode and not partial:
        raise AnswersError(source, f"missing; set mode to one of: {', '.join(MODES)}.", "mode")
    port = answers.bastion.listen_port
    if not 1 <= port <= 65535:
        raise AnswersError(
            source,
            f"{port} is not a TCP port; use 1-65535 (443 for Slack and Teams).",
            "bastion.listen_port",
            _locate(text, "bastion", "listen_port"),
        )
    b = answers.bastion
    limits = {key: getattr(b, key) for key in DEFAULT_LIMITS}
    for key, message in limit_problems(limits, b.teams_source, b.teams_ranges, partial=partial):
        raise AnswersError(source, message, f"bastion.{key}", _locate(text, "bastion", key))
    if not partial:
        required = _REQUIRED_EXPOSED if answers.exposes_bastion else ()
        for dotted in required:
            table, key = dotted.split(".")
            if not getattr(getattr(answers, table), key).strip():
                raise AnswersError(
                    source,
                    f"is required in mode {answers.mode!r}; set it in [{table}].",
                    dotted,
                    _locate(text, table, key) or _locate(text, table, ""),
                )


def _deepest_line(text: str) -> int | None:
    """The line where bracket nesting is deepest (where a recursion bomb sits)."""
    depth = best = 0
    where: int | None = None
    line = 1
    for char in text:
        if char == "\n":
            line += 1
        elif char in "[{":
            depth += 1
            if depth > best:
                best, where = depth, line
        elif char in "]}":
            depth = max(depth - 1, 0)
    return where


def read_answers_bytes(path: str | Path) -> bytes:
    """Read an answers file: only a regular file, at most :data:`MAX_ANSWERS_BYTES`.

    ``/dev/zero``, a FIFO or a huge file is refused at once instead of being
    read without bound.

    Raises:
        AnswersError: Naming the file and what it is.
    """
    from wizard.reading import BoundedReadError, read_bounded

    source = str(path)
    try:
        return read_bounded(path, MAX_ANSWERS_BYTES)  # the one bounded reader
    except BoundedReadError as exc:
        messages = {
            "directory": "is a directory; give the answers file itself.",
            "missing": "no such file. Check the path, or run the wizard to create it.",
            "special": "is not a regular file (a device, pipe or socket); give the answers file.",
            "too_large": f"is larger than {MAX_ANSWERS_BYTES // 1024} KiB; "
            "is this really the answers file?",
        }
        raise AnswersError(
            source,
            messages.get(exc.kind, f"cannot be read ({exc.why}); check its permissions."),
        ) from None


def load_answers(path: str | Path, *, partial: bool = False) -> Answers:
    """Read an answers file; see :func:`loads_answers`.

    Raises:
        AnswersError: Also when the file is missing, a directory, unreadable or
            not UTF-8 text.
    """
    source = str(path)
    raw = read_answers_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AnswersError(
            source, f"is not UTF-8 text (byte {exc.start}); is this really the answers file?"
        ) from None
    return loads_answers(text, source, partial=partial)


def _toml_string(value: str) -> str:
    out = ['"']
    for ch in value:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch < " " or ch == "\x7f":
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_value(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return _toml_string(value)


def dumps_answers(answers: Answers) -> str:
    """Serialise answers to the TOML of README.md, "The answers file"."""
    lines = [
        "# codestream-bastion answers file, for `codestream-bastion check/render/apply --answers`.",
        f"mode = {_toml_value(answers.mode)}",
    ]
    for name in _SECTIONS:
        section = getattr(answers, name)
        lines.append("")
        lines.append(f"[{name}]")
        for f in fields(section):
            value = getattr(section, f.name)
            form = saved_form(name, f.name, value, answers.secret_sources)
            comment, key, value = form or ("", f.name, value)
            lines += [comment] if comment else []
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def save_answers(answers: Answers, path: str | Path, *, durable: bool = True) -> None:
    """Write the answers file atomically, mode 0600 (it may hold secrets).

    ``durable=False``: not flushed to disk (the demo's answers, see
    :func:`wizard.fsutil.atomic_write`).
    """
    atomic_write(Path(path), dumps_answers(answers).encode("utf-8"), 0o600, durable=durable)
