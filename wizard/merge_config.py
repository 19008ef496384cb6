"""``merge-config``: merge the messaging snippet into a whole CodeStream configuration.

On the CodeStream host a configuration is loaded as a whole: the control
script's ``--cfg-tool --load`` replaces the active configuration with the file
(``shared/codestream_configs/bin/mongo-config-loader.js`` in CodeStream's
server sources), and file-based releases read all of
``~/.codestream/codestream-services-config.json``. So the snippet's
``integrations`` section is merged into a full configuration (a dump of the
active one, or that file) rather than loaded alone.

The merge is deep for ``integrations`` only: objects are merged key by key,
any other value in the snippet replaces the one in the configuration, and no
key of the configuration is ever dropped. The diff is shown with every secret
masked (the whole configuration holds database passwords and keys, not only
ours), the original is backed up next to it (owner-only), and the new file is
written atomically with the original's mode and owner (``fchown`` on the new
file's descriptor, before its first byte).

It often runs as root on the CodeStream host, so the configuration is refused,
before a byte of it is read or shown, when it is a symbolic link or when
another user controls it or a directory on its way; both files are read
through the one bounded reader (:mod:`wizard.reading`), and JSON nested deeper
than :data:`MAX_JSON_DEPTH` is refused naming the file.
"""

from __future__ import annotations

import copy
import difflib
import json
import os
import re
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from wizard.findings import counted
from wizard.fsutil import UnsafePathError, atomic_write, check_readable_path
from wizard.reading import BoundedReadError, read_bounded
from wizard.safetext import visible

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
MAX_CONFIG_BYTES = 16 * 1024 * 1024
# Far deeper than any CodeStream configuration, far shallower than Python's recursion limit
# (the merge and the masking recurse once per level).
MAX_JSON_DEPTH = 100
# Lines a dump may carry before its JSON: the control script's ``docker run``
# line and the loader's log lines are three (parse_config_text); room to spare.
MAX_PREAMBLE_LINES = 10
# Key names that hold secrets; generous on purpose (a masked path costs nothing).
_SECRET_KEY = re.compile(
    r"secret|password|passwd|passphrase|token|credential|cookie|private|key", re.IGNORECASE
)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):[^@/\s]+@", re.I)
_PLACEHOLDER = re.compile(r"^<[A-Z][A-Z0-9_]*>$")


class MergeError(Exception):
    """A file that cannot be merged: what is wrong and how to fix it."""


def _is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def mask_secrets(value: Any, key: str = "", *, inside_secret: bool = False) -> Any:
    """A copy of ``value`` with every secret replaced by ``"<secret>"``.

    A secret is a non-empty string under a key that names one (secret,
    password, token, key, ...), anywhere below such a key (CodeStream keeps
    ``sharedSecrets.auth``, ``sharedSecrets.cookie``, ...), or the password
    part of a URL (``mongodb://user:PASSWORD@host``).
    """
    secret = inside_secret or _is_secret_key(key)
    if isinstance(value, Mapping):
        return {k: mask_secrets(v, str(k), inside_secret=secret) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item, key, inside_secret=secret) for item in value]
    if isinstance(value, str):
        if value and secret:
            return "<secret>"
        return _URL_PASSWORD.sub(r"\g<scheme>\g<user>:<secret>@", value)
    return value


def _mark_changed_secrets(old: Any, new: Any, key: str = "", inside_secret: bool = False) -> Any:
    """``new`` masked as :func:`mask_secrets`, saying where a secret changed (never the value)."""
    secret = inside_secret or _is_secret_key(key)
    if isinstance(new, Mapping):
        old_map = old if isinstance(old, Mapping) else {}
        return {k: _mark_changed_secrets(old_map.get(k), v, str(k), secret) for k, v in new.items()}
    if isinstance(new, str) and new and secret and old != new:
        return "<secret, changed>"
    return mask_secrets(new, key, inside_secret=secret)


def deep_merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``update`` merged in: objects key by key, anything else replaced.

    Neither argument is modified; no key of ``base`` is dropped.
    """
    merged = copy.deepcopy(base)
    for key, value in update.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _placeholders(value: Any, path: str = "") -> list[str]:
    if isinstance(value, Mapping):
        return [p for k, v in value.items() for p in _placeholders(v, f"{path}.{k}".lstrip("."))]
    if isinstance(value, str) and _PLACEHOLDER.match(value):
        return [f"{path} = {value}"]
    return []


def _read_text(path: Path, what: str, *, follow: bool = True) -> str:
    """The UTF-8 text of ``path``, through the one bounded reader.

    Raises:
        MergeError: Missing, unreadable, a directory, a FIFO or device, too
            large, a link (``follow=False``), not UTF-8.
    """
    try:
        raw = read_bounded(path, MAX_CONFIG_BYTES, follow=follow)
    except BoundedReadError as exc:
        fixes = {
            "missing": f"no such file. Check the path of the {what}.",
            "directory": f"is a directory; give the {what} file itself.",
            "special": f"is not a regular file (a FIFO, socket or device); give the {what} file.",
            "too_large": f"is over {MAX_CONFIG_BYTES:,} bytes; a {what} is far smaller. "
            "Wrong file?",
            "link": "is a symbolic link; merge-config neither reads nor writes through one. "
            "Give the path of the file itself.",
        }
        raise MergeError(
            f"{path}: " + fixes.get(exc.kind, f"cannot be read ({exc.why}); check its permissions.")
        ) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MergeError(
            f"{path} is not UTF-8 text (byte {exc.start}); is it the {what}?"
        ) from None


def _depth(value: Any) -> int:
    """How deeply ``value`` nests objects and arrays (counted without recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _too_deep(path: Path) -> MergeError:
    return MergeError(
        f"{path} nests objects and arrays more than {MAX_JSON_DEPTH} deep; a CodeStream "
        "configuration nests a few levels. Is it the right file (a dump of the active "
        "configuration, codestream --cfg-tool --dump active > FILE)?"
    )


def _shallow(path: Path, value: Any) -> Any:
    """``value``, or :class:`MergeError` when it nests deeper than :data:`MAX_JSON_DEPTH`."""
    if _depth(value) > MAX_JSON_DEPTH:
        raise _too_deep(path)
    return value


def _json_error(path: Path, text: str, exc: json.JSONDecodeError) -> MergeError:
    """The message for ``exc``; ``text`` is looked at for a hint about ``--pretty``."""
    hint = ""
    # Node's util.inspect (--pretty) writes bare keys and colour codes.
    if re.search(r"(^|[{,])\s*[A-Za-z_$][\w$]*\s*:", text, re.MULTILINE) or "\x1b[" in text:
        hint = (
            " It looks like the output of '--dump active --pretty', which is Node's "
            "notation, not JSON: dump again without --pretty "
            "(codestream --cfg-tool --dump active > FILE)."
        )
    return MergeError(
        f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.{hint}"
    )


def _object(path: Path, data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise MergeError(
            f"{path} holds JSON {type(data).__name__}, not an object; the {what} is one "
            "JSON object ({ ... })."
        )
    return data


def _read_json(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in ``path``, which holds nothing else.

    Raises:
        MergeError: Missing, unreadable, too large, not UTF-8, not JSON, not an object.
    """
    return _object(path, _loads(path, _read_text(path, what)), what)


def _loads(path: Path, text: str) -> Any:
    try:
        return _shallow(path, json.loads(text))
    except json.JSONDecodeError as exc:
        raise _json_error(path, text, exc) from None
    except RecursionError:
        raise _too_deep(path) from None


def parse_config_text(path: Path, text: str) -> tuple[dict[str, Any], str, list[str]]:
    """A configuration, or a dump of one with the control script's lines before the JSON.

    ``codestream --cfg-tool --dump active > FILE`` writes more than the JSON:
    the control script's ``run_script_via_api`` echoes its ``docker run ...``
    line to standard output first (``install-scripts/codestream`` in
    TeamCodeStream/onprem-install), and ``mongo-config-loader.js`` logs
    ``loading schema (...)`` (and on releases before commit 5ee15972c
    ``connecting to <mongo url>``) with ``console.log`` before printing the
    JSON (``shared/codestream_configs/lib/structured_config_base.js`` and
    ``structured_config_mongo.js`` in codestream-server). So up to
    :data:`MAX_PREAMBLE_LINES` lines before the first line that starts a JSON
    object are skipped; after the object only white space may follow.

    Args:
        path: The file, for messages.
        text: Its text.

    Returns:
        The object, the JSON text alone (from its first ``{``), and the lines
        skipped before it.

    Raises:
        MergeError: No line starts an object, too many lines before it, not
            valid JSON, or text after the object.
    """
    lines = text.splitlines(keepends=True)
    start = next(
        (number for number, line in enumerate(lines) if line.lstrip(" \t").startswith("{")),
        None,
    )
    if start is None:  # not even the start of an object: the plain error (and hints)
        return _object(path, _loads(path, text), "CodeStream configuration"), text, []
    if start > MAX_PREAMBLE_LINES:
        raise MergeError(
            f"{path} has {start} lines before its first line starting with '{{'; a dump "
            f"has at most {MAX_PREAMBLE_LINES} lines of the control script before the "
            "JSON. Is it the CodeStream configuration?"
        )
    offset = sum(len(line) for line in lines[:start])
    body = text[offset:]
    try:
        data, end = json.JSONDecoder().raw_decode(text, text.index("{", offset))
    except json.JSONDecodeError as exc:  # positions count in the whole file
        raise _json_error(path, body, exc) from None
    except RecursionError:
        raise _too_deep(path) from None
    _shallow(path, data)
    if text[end:].strip():
        line = text.count("\n", 0, end) + 1
        column = end - text.rfind("\n", 0, end)
        raise MergeError(
            f"{path} has more text after its JSON object ends (line {line}, column "
            f"{column}); a configuration is one JSON object. Is it one whole dump?"
        )
    return _object(path, data, "CodeStream configuration"), body, lines[:start]


def _indent(text: str) -> str | int:
    """The indentation the file uses: a tab (``--dump active``), else its spaces."""
    match = re.search(r"\n([ \t]+)\S", text)
    if match is None:
        return 2
    unit = match.group(1)
    return "\t" if unit.startswith("\t") else len(unit)


def _encode(data: Mapping[str, Any], indent: str | int) -> str:
    return json.dumps(data, indent=indent, ensure_ascii=False) + "\n"


def _other_blocks(config: Mapping[str, Any], snippet: Mapping[str, Any]) -> list[str]:
    """Installation blocks that CodeStream also reads besides the snippet's.

    From API 8.2.4 every block of a provider is merged into one, in order
    (``shared/server_utils/custom_config.js``, commit 2d99875d5), so an older
    ``slack.com`` block next to ``cloud`` still counts; a block marked
    ``"disabled": true`` is skipped from 8.2.9 (commit 8498517ff), and is not
    named here since the release is not known.
    """
    notes: list[str] = []
    existing = config.get("integrations")
    if not isinstance(existing, Mapping):
        return notes
    for provider, blocks in snippet.items():
        current = existing.get(provider)
        if not isinstance(current, Mapping) or not isinstance(blocks, Mapping):
            continue
        for name, block in current.items():
            if name in blocks or not isinstance(block, Mapping) or block.get("disabled") is True:
                continue
            notes.append(f"integrations.{provider}.{name}")
    return notes


def auth_origin(config: Mapping[str, Any]) -> tuple[str, str] | None:
    """Where this CodeStream sends users back after an OAuth sign-in, and from which key.

    ``apiServer.authOrigin``, else ``apiServer.publicApiUrl`` + ``/no-auth``
    (``shared/server_utils/custom_config.js``: ``if (!Cfg.apiServer.authOrigin)``);
    the redirect is ``<authOrigin>/provider-token/<provider>``
    (``api_server/modules/providers/provider_auth_request.js``). ``None`` when
    the configuration names neither.
    """
    server = config.get("apiServer")
    if not isinstance(server, Mapping):
        return None
    origin, public = server.get("authOrigin"), server.get("publicApiUrl")
    if isinstance(origin, str) and origin.strip():
        return origin.strip().rstrip("/"), "apiServer.authOrigin"
    if isinstance(public, str) and public.strip():
        return public.strip().rstrip("/") + "/no-auth", "apiServer.publicApiUrl + /no-auth"
    return None


@dataclass(frozen=True)
class Merge:
    """A merge worked out in memory.

    Attributes:
        old_text: The configuration file's whole current text (the backup).
        new_text: The merged configuration: JSON only, never the skipped lines.
        diff: The unified diff of the JSON, every secret masked.
        others: Other installation blocks of the snippet's providers.
        skipped: The lines before the JSON (a dump's control-script lines).
        origin: :func:`auth_origin` of the configuration.
    """

    old_text: str
    new_text: str
    diff: str
    others: list[str]
    skipped: list[str]
    origin: tuple[str, str] | None = None

    @property
    def changes(self) -> bool:
        """Whether the file must be written: other values, or lines to drop."""
        return bool(self.skipped) or json.loads(self.old_json) != json.loads(self.new_text)

    @property
    def old_json(self) -> str:
        """The JSON part of the current text."""
        return self.old_text[sum(len(line) for line in self.skipped) :]


def merge_files(snippet_path: Path, config_path: Path) -> Merge:
    """Read both files and merge; nothing is written.

    Returns:
        The merge (:class:`Merge`).

    Raises:
        MergeError: When either file cannot be used.
    """
    snippet = _read_json(snippet_path, "snippet")
    integrations = snippet.get("integrations")
    if not isinstance(integrations, dict) or not integrations:
        raise MergeError(
            f"{snippet_path} has no 'integrations' object; give the snippet that "
            "codestream-bastion rendered (codestream-messaging.json)."
        )
    extra = sorted(set(snippet) - {"integrations"})
    if extra:
        raise MergeError(
            f"{snippet_path} holds more than 'integrations' ({', '.join(extra)}); "
            "merge-config only merges the integrations section. Is it the snippet?"
        )
    left = _placeholders(integrations, "integrations")
    if left:
        raise MergeError(
            f"{snippet_path} still has placeholders: {'; '.join(left)}. Put the real values "
            "in (or set them in the answers file and render again), then merge."
        )
    old_text = _read_text(config_path, "CodeStream configuration", follow=False)
    config, json_text, skipped = parse_config_text(config_path, old_text)
    if "integrations" in config and not isinstance(config["integrations"], dict):
        raise MergeError(
            f"{config_path}: 'integrations' is not an object; fix the configuration first."
        )
    merged = deep_merge(config, {"integrations": integrations})
    indent = _indent(json_text)
    new_text = _encode(merged, indent)
    shown_old = _encode(mask_secrets(config), indent).splitlines(keepends=True)
    shown_new = _encode(_mark_changed_secrets(config, merged), indent).splitlines(keepends=True)
    diff = "".join(
        difflib.unified_diff(
            shown_old, shown_new, f"{config_path} (current)", f"{config_path} (merged)"
        )
    )
    others = _other_blocks(config, integrations)
    return Merge(old_text, new_text, diff, others, skipped, auth_origin(config))


def _shown(line: str) -> str:
    """A skipped line fit for a terminal: URL passwords masked, no control characters."""
    line = _URL_PASSWORD.sub(r"\g<scheme>\g<user>:<secret>@", line.rstrip("\r\n"))
    printable = "".join(c if c.isprintable() else "?" for c in line)
    return printable if len(printable) <= 160 else printable[:157] + "..."


def _backup_path(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    candidate = path.with_name(f"{path.name}.bak-{stamp}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.bak-{stamp}-{number}")
    return candidate


def _check_target(path: Path) -> None:
    """Refuse a configuration to merge into that is a link or that another user controls.

    The file is read, shown (masked) and written back as the user running the
    command, often root: a link another user planted, or a directory on the
    way that another user owns, would make that a read and a write of
    whatever file they chose. Refused before a byte of it is read.

    Raises:
        MergeError: Naming the path, the owner at fault and the fix.
    """
    if path.is_symlink():
        raise MergeError(
            f"{path} is a symbolic link; merge-config neither reads nor writes through one. "
            "Give the path of the file itself (readlink -f shows where it points; check "
            "who made the link first)."
        )
    try:
        check_readable_path(path)
    except UnsafePathError as exc:
        raise MergeError(
            f"{exc.message} merge-config refused to read or write it. Run merge-config as "
            "that file's owner on a copy in a directory only you can write, or move the "
            "configuration where only root (or you) can write."
        ) from None
    except OSError:
        return  # missing or unreadable: the read says so, with the fix


def run_merge_config(
    snippet_path: Path, config_path: Path, stdout: TextIO, *, dry_run: bool = False
) -> int:
    """The ``merge-config`` command.

    Args:
        snippet_path: The rendered snippet (``{"integrations": {...}}``).
        config_path: A whole configuration: a dump of the active one, or
            ``codestream-services-config.json``. A symbolic link, or a path
            another user controls, is refused (:func:`_check_target`).
        stdout: Where the diff and the outcome go.
        dry_run: Show the diff only.

    Returns:
        0 when merged (or nothing to change), 2 when a file cannot be used,
        1 when the result cannot be written (the original is then unchanged).
    """
    target = config_path
    try:
        _check_target(target)
        merge = merge_files(snippet_path, target)
    except MergeError as exc:
        print(f"codestream-bastion merge-config: {visible(str(exc))}", file=stdout)
        return EXIT_USAGE
    if merge.skipped:
        print(
            f"skipped {counted(len(merge.skipped), 'line')} before the JSON in {target} (the "
            "control script's output of a dump); they are not written back:",
            file=stdout,
        )
        for line in merge.skipped:
            print(f"  | {_shown(line)}", file=stdout)
    for block in merge.others:
        print(
            f"note: {visible(block)} is also read by CodeStream 8.2.4 and later (every block is "
            'merged, in order; one marked "disabled": true is skipped from 8.2.9 on); '
            'remove it, or from 8.2.9 mark it "disabled": true, if it holds an older app.',
            file=stdout,
        )
    if merge.origin is not None:
        origin, key = merge.origin
        print(
            f"note: this CodeStream sends users back to {origin}/provider-token/slack after "
            f"Slack sign-in ({key}; Teams before 14.0.15: .../provider-token/msteams). The "
            "Slack app's Redirect URL must be exactly that; if next-steps.md names another, "
            'set public_api_url = "<apiServer.publicApiUrl>" in [codestream] of the answers '
            "file and render again.",
            file=stdout,
        )
    if not merge.changes:
        print(f"{target} already holds the snippet's values; nothing to change.", file=stdout)
        return EXIT_OK
    if merge.diff:
        # json.dumps leaves C1 controls (U+0080-U+009F) as they are: show them escaped.
        diff = visible(merge.diff, lines=True)
        print(diff, end="" if diff.endswith("\n") else "\n", file=stdout)
    else:
        print("the values are unchanged; only the skipped lines go.", file=stdout)
    if dry_run:
        print("dry run: nothing written.", file=stdout)
        return EXIT_OK
    try:
        st = os.lstat(target)
        # Keep the owner (root merging a service user's file): set on the new file's
        # descriptor before its first byte (fchown), never by name afterwards.
        owner = (st.st_uid, st.st_gid) if os.geteuid() == 0 else None
        backup = _backup_path(target)
        atomic_write(backup, merge.old_text.encode("utf-8"), 0o600, owner=owner)
        atomic_write(target, merge.new_text.encode("utf-8"), stat.S_IMODE(st.st_mode), owner=owner)
    except OSError as exc:
        print(
            f"codestream-bastion merge-config: cannot write {target}: {exc.strerror or exc}; "
            "it is unchanged. Run it as the file's owner (or root).",
            file=stdout,
        )
        return EXIT_FAILED
    print(
        f"merged into {target} (mode {stat.S_IMODE(st.st_mode):04o}); backup: {backup}", file=stdout
    )
    return EXIT_OK
