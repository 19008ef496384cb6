"""``codestream-bastion render``: every file into a directory, no network, nothing else touched."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from wizard.answers import Answers
from wizard.constants import NEXT_STEPS_NAME
from wizard.fsutil import atomic_write
from wizard.nginx.binary import NginxFeatures, detect_nginx_features
from wizard.render.core import RenderError
from wizard.render.files import render_all
from wizard.render.nginx import nginx_ca_bundle

__all__ = ["run", "run_render"]


def run(args: argparse.Namespace) -> int:
    """The ``render`` command from its parsed arguments; returns its exit status."""
    from wizard.commands.common import context_from_args, guarded, load_answers_arg

    def body() -> int:
        ctx = context_from_args(args)
        answers = load_answers_arg(args)
        # --dns-server and --ca-bundle stand for the host's own resolver and trust
        # store, so the rendered file uses them too; otherwise render's defaults.
        return run_render(
            answers,
            Path(args.out),
            sys.stdout,
            resolvers=[str(server) for server in ctx.nameservers] if args.dns_server else None,
            ca_bundle=str(ctx.ca_bundle) if ctx.ca_bundle else None,
        )

    return guarded(body)


def _previous_package(out_dir: Path) -> bytes | None:
    """The Teams package an earlier ``render`` left in ``out_dir`` (bounded, links not followed)."""
    from wizard.provider_files import MAX_PREVIOUS_PACKAGE, TEAMS_PACKAGE_NAME

    try:
        fd = os.open(out_dir / TEAMS_PACKAGE_NAME, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return None
        return handle.read(MAX_PREVIOUS_PACKAGE + 1)


def run_render(
    answers: Answers,
    out_dir: Path,
    stdout: TextIO,
    *,
    features: NginxFeatures | None = None,
    resolvers: Sequence[str] | None = None,
    ca_bundle: str | None = None,
) -> int:
    """The ``render`` command: write every file into ``out_dir`` (no network).

    Args:
        answers: The loaded answers.
        out_dir: Directory to write into (created when missing).
        stdout: Where to report what was written.
        features: nginx features (default: :func:`detect_nginx_features`).
        resolvers: nginx's DNS servers (default: the system's, ``/etc/resolv.conf``).
        ca_bundle: Trust bundle for the upstream (default: :func:`nginx_ca_bundle`).

    Returns:
        0 when every file was written; 2 when the answers cannot be rendered or
        the directory cannot be written (the message says which and why).
    """
    from wizard.probes.dns import system_nameservers

    if features is None:
        features = detect_nginx_features()
    if resolvers is None:
        resolvers = [str(server) for server in system_nameservers()]
    if ca_bundle is None:
        ca_bundle = nginx_ca_bundle()
    try:
        files = render_all(
            answers,
            features=features,
            resolvers=resolvers,
            ca_bundle=ca_bundle,
            previous_teams_package=_previous_package(out_dir),
        )
    except RenderError as exc:
        print(f"codestream-bastion render: {exc}", file=stdout)
        return 2
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for rendered in files:
            atomic_write(out_dir / rendered.name, rendered.content, rendered.mode)
            print(f"wrote {out_dir / rendered.name} (mode {rendered.mode:04o})", file=stdout)
    except OSError as exc:
        print(
            f"codestream-bastion render: cannot write into {out_dir}: "
            f"{exc.strerror or exc}; choose a writable directory with --out",
            file=stdout,
        )
        return 2
    print(f"next: read {out_dir / NEXT_STEPS_NAME}", file=stdout)
    return 0
