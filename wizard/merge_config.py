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
written atomically with the original's mode and owner.
"""

from __future__ import annotations

import contextlib
import copy
import difflib
import json
import os
import re
import stat
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from wizard.fsutil import atomic_write

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
MAX_CONFIG_BYTES = 16 * 1024 * 1024
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


def _read_json(path: Path, what: str) -> tuple[dict[str, Any], str]:
    """The JSON object in ``path`` and its text.

    Raises:
        MergeError: Missing, unreadable, too large, not UTF-8, not JSON, not an object.
    """
    try:
        if path.is_dir():
            raise MergeError(f"{path} is a directory; give the {what} file itself.")
        size = path.stat().st_size
        if size > MAX_CONFIG_BYTES:
            raise MergeError(f"{path} is {size} bytes; a {what} is far smaller. Wrong file?")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise MergeError(f"{path}: no such file. Check the path of the {what}.") from None
    except OSError as exc:
        raise MergeError(
            f"{path} cannot be read ({exc.strerror or exc}); check its permissions."
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MergeError(
            f"{path} is not UTF-8 text (byte {exc.start}); is it the {what}?"
        ) from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = ""
        # Node's util.inspect (--pretty) writes bare keys and colour codes.
        if re.search(r"(^|[{,])\s*[A-Za-z_$][\w$]*\s*:", text, re.MULTILINE) or "\x1b[" in text:
            hint = (
                " It looks like the output of '--dump active --pretty', which is Node's "
                "notation, not JSON: dump again without --pretty "
                "(codestream --cfg-tool --dump active > FILE)."
            )
        raise MergeError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.{hint}"
        ) from None
    if not isinstance(data, dict):
        raise MergeError(
            f"{path} holds JSON {type(data).__name__}, not an object; the {what} is one "
            "JSON object ({ ... })."
        )
    return data, text


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

    From API 8.2.4 every block of a provider not marked ``"disabled": true`` is
    merged into one, in order (``shared/server_utils/custom_config.js``), so an
    older ``slack.com`` block next to ``cloud`` still counts.
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


def merge_files(snippet_path: Path, config_path: Path) -> tuple[str, str, str, list[str]]:
    """Read both files and merge; nothing is written.

    Returns:
        The configuration's current text, the merged text, the masked diff, and
        the other installation blocks of the same providers.

    Raises:
        MergeError: When either file cannot be used.
    """
    snippet, _ = _read_json(snippet_path, "snippet")
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
    config, old_text = _read_json(config_path, "CodeStream configuration")
    if "integrations" in config and not isinstance(config["integrations"], dict):
        raise MergeError(
            f"{config_path}: 'integrations' is not an object; fix the configuration first."
        )
    merged = deep_merge(config, {"integrations": integrations})
    indent = _indent(old_text)
    new_text = _encode(merged, indent)
    shown_old = _encode(mask_secrets(config), indent).splitlines(keepends=True)
    shown_new = _encode(_mark_changed_secrets(config, merged), indent).splitlines(keepends=True)
    diff = "".join(
        difflib.unified_diff(
            shown_old, shown_new, f"{config_path} (current)", f"{config_path} (merged)"
        )
    )
    return old_text, new_text, diff, _other_blocks(config, integrations)


def _backup_path(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    candidate = path.with_name(f"{path.name}.bak-{stamp}")
    number = 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}.bak-{stamp}-{number}")
    return candidate


def run_merge_config(
    snippet_path: Path, config_path: Path, stdout: TextIO, *, dry_run: bool = False
) -> int:
    """The ``merge-config`` command.

    Args:
        snippet_path: The rendered snippet (``{"integrations": {...}}``).
        config_path: A whole configuration: a dump of the active one, or
            ``codestream-services-config.json``. A symbolic link is followed.
        stdout: Where the diff and the outcome go.
        dry_run: Show the diff only.

    Returns:
        0 when merged (or nothing to change), 2 when a file cannot be used,
        1 when the result cannot be written (the original is then unchanged).
    """
    target = config_path.resolve() if config_path.is_symlink() else config_path
    try:
        old_text, new_text, diff, others = merge_files(snippet_path, target)
    except MergeError as exc:
        print(f"codestream-bastion merge-config: {exc}", file=stdout)
        return EXIT_USAGE
    for block in others:
        print(
            f"note: {block} is also read by CodeStream 8.2.4 and later (every block not "
            '"disabled": true is merged, in order); remove it or mark it "disabled": true '
            "if it holds an older app.",
            file=stdout,
        )
    if json.loads(old_text) == json.loads(new_text):
        print(f"{target} already holds the snippet's values; nothing to change.", file=stdout)
        return EXIT_OK
    print(diff, end="" if diff.endswith("\n") else "\n", file=stdout)
    if dry_run:
        print("dry run: nothing written.", file=stdout)
        return EXIT_OK
    try:
        st = target.stat()
        backup = _backup_path(target)
        atomic_write(backup, old_text.encode("utf-8"), 0o600)
        atomic_write(target, new_text.encode("utf-8"), stat.S_IMODE(st.st_mode))
        with contextlib.suppress(OSError):  # keep the owner when run as root
            if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
                os.chown(target, st.st_uid, st.st_gid)
                os.chown(backup, st.st_uid, st.st_gid)
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
