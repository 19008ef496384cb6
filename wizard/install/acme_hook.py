"""certbot's ``--manual`` hooks for DNS-01: say which TXT record to create, wait until it is seen.

certbot runs the auth hook once per name with ``CERTBOT_DOMAIN`` and
``CERTBOT_VALIDATION`` in its environment (certbot's ``plugins/manual.py``)
and tells the CA to look only when the hook has returned. This hook:

1. writes the record to create (``_acme-challenge.<name>`` TXT ``<validation>``)
   into the run's private channel directory, where the front end that runs
   certbot (the ``certificate`` command, the wizard) reads it and shows it;
2. asks every public resolver, again and again, until each one answers the
   TXT record with that value, so that the CA is only asked once the record
   is public; after the wait it fails with what the resolvers said, and
   certbot quotes that.

Run as ``python -m wizard.install.acme_hook auth|cleanup``; the front end
passes the channel, the resolvers and the wait in the environment
(:func:`hook_environment`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from wizard.fsutil import atomic_write
from wizard.probes.dns import Nameserver, lookup, parse_nameserver

ENV_CHANNEL = "CODESTREAM_BASTION_ACME_CHANNEL"
ENV_RESOLVERS = "CODESTREAM_BASTION_ACME_RESOLVERS"
ENV_WAIT = "CODESTREAM_BASTION_ACME_WAIT"
ENV_TIMEOUT = "CODESTREAM_BASTION_ACME_TIMEOUT"
RECORD_FILE = "record.json"
POLL_INTERVAL = 1.0


def hook_command(stage: str) -> str:
    """The hook's command line for certbot (``auth`` or ``cleanup``); certbot runs it in a shell."""
    return shlex.join([sys.executable, "-m", "wizard.install.acme_hook", stage])


def hook_environment(
    channel: Path, resolvers: Sequence[Nameserver], wait: float, timeout: float
) -> dict[str, str]:
    """What the hook needs to know, added to certbot's environment (it passes it on)."""
    return {
        ENV_CHANNEL: str(channel),
        ENV_RESOLVERS: ",".join(str(r) for r in resolvers),
        ENV_WAIT: f"{wait:g}",
        ENV_TIMEOUT: f"{timeout:g}",
    }


def challenge_name(domain: str) -> str:
    """Where the CA reads the DNS-01 token (RFC 8555, section 8.4)."""
    return "_acme-challenge." + domain.rstrip(".")


def read_record(channel: Path) -> tuple[str, str] | None:
    """The record the auth hook asked for: (name, value), or ``None`` before it ran."""
    try:
        data = json.loads((channel / RECORD_FILE).read_text(encoding="utf-8"))
        return str(data["name"]), str(data["value"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _txt_values(records: Sequence[str]) -> set[str]:
    """TXT records in zone-file form (``"abc" "def"``) as their joined strings."""
    values = set()
    for record in records:
        try:
            values.add("".join(shlex.split(record)))
        except ValueError:
            values.add(record.strip('"'))
    return values


async def wait_until_visible(
    name: str, value: str, resolvers: Sequence[Nameserver], wait: float, timeout: float
) -> tuple[bool, str]:
    """Ask each resolver for ``name`` TXT until all of them answer ``value``, for ``wait`` s.

    Returns:
        Whether every resolver saw it, and what they said last (for people).
    """
    deadline = time.monotonic() + wait
    said = "no resolver asked"
    while True:
        answers = await asyncio.gather(*(lookup(name, "TXT", (r,), timeout) for r in resolvers))
        missing = [
            f"{r}: {a.detail or a.status}" if a.status != "ok" else f"{r}: other value(s)"
            for r, a in ((resolvers[i], answers[i]) for i in range(len(resolvers)))
            if value not in _txt_values(a.records)
        ]
        if not missing:
            return True, "seen by " + ", ".join(map(str, resolvers))
        said = "; ".join(missing)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, said
        await asyncio.sleep(min(POLL_INTERVAL, remaining))


def main(argv: Sequence[str], environ: Mapping[str, str] = os.environ) -> int:
    """The hook; returns its exit status (certbot stops on anything but 0)."""
    stage = argv[0] if argv else ""
    channel = Path(environ.get(ENV_CHANNEL, ""))
    domain = environ.get("CERTBOT_DOMAIN", "")
    value = environ.get("CERTBOT_VALIDATION", "")
    if stage not in ("auth", "cleanup") or not channel.is_dir() or not domain:
        print("codestream-bastion acme hook: run by certbot --manual only", file=sys.stderr)
        return 2
    if stage == "cleanup":
        print(f"The TXT record {challenge_name(domain)} may be deleted now.")
        return 0
    name = challenge_name(domain)
    record = json.dumps({"name": name, "value": value}).encode("utf-8")
    atomic_write(channel / RECORD_FILE, record, 0o600, check=False)
    try:
        resolvers = [parse_nameserver(s) for s in environ.get(ENV_RESOLVERS, "").split(",") if s]
        wait = float(environ.get(ENV_WAIT, "600"))
        timeout = float(environ.get(ENV_TIMEOUT, "5"))
    except ValueError as exc:
        print(f"codestream-bastion acme hook: {exc}", file=sys.stderr)
        return 2
    seen, said = asyncio.run(wait_until_visible(name, value, resolvers, wait, timeout))
    if not seen:
        print(
            f"The TXT record {name} with the value {value} was not seen by every public "
            f"resolver within {wait:g} s ({said}). Create it at the DNS provider of the "
            "domain, then run again.",
            file=sys.stderr,
        )
        return 1
    print(f"The TXT record {name} is public ({said}).")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
