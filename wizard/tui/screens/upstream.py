"""Step 5, CodeStream API: where the bastion forwards to, probed live.

The optional public API URL (``[codestream] public_api_url``) is the one users'
browsers know, when the bastion reaches the API at an internal address, port or
scheme: every OAuth redirect is built on it.

The URL is checked on every keystroke (:func:`api_url_error`); the live probe
(:func:`check_upstream`) resolves the API host (or uses the pinned address),
connects, validates its certificate (with the optional CA file), and proves it
answers like CodeStream.
"""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult

from wizard.answers import Answers, CodeStreamAnswers
from wizard.checks.api_url import api_url_error, upstream_address_error
from wizard.findings import Finding
from wizard.tui.screens.base import StepScreen
from wizard.tui.widgets.field import CheckedField, Extra


def _public_url_error(text: str) -> str | None:
    """The public API URL is optional (empty: the API URL); else a URL like it."""
    return api_url_error(text) if text.strip() else None


class UpstreamScreen(StepScreen):
    """The CodeStream API URL, with an optional CA file, pinned address and public URL."""

    STEP = "upstream"
    TITLE = "CodeStream API"
    HINT = "Tab: the optional CA file, pinned address and public URL.  Enter: next step."

    def compose_body(self) -> ComposeResult:
        """The URL field, with the CA file and the pinned address."""
        codestream = self.answers.codestream
        yield CheckedField(
            "CodeStream API URL (where the bastion forwards to)",
            codestream.api_url,
            syntax=api_url_error,
            check=self._check,
            placeholder="https://codestream.my-company.com",
            progress="Probing the API",
            extras=[
                Extra(
                    "upstream-ca",
                    "CA file for the API (optional)",
                    codestream.upstream_ca,
                    placeholder="if its certificate is private or self-signed",
                ),
                Extra(
                    "upstream-address",
                    "Pinned API address (optional)",
                    codestream.upstream_address,
                    syntax=upstream_address_error,
                    placeholder="if this host cannot resolve the API's name",
                ),
                Extra(
                    "public-api-url",
                    "Public API URL (optional)",
                    codestream.public_api_url,
                    syntax=_public_url_error,
                    placeholder="if users' browsers know the API by another URL",
                ),
            ],
            id="api-url",
        )

    @property
    def field(self) -> CheckedField:
        """The URL field."""
        return self.query_one("#api-url", CheckedField)

    def _answers(self, url: str) -> CodeStreamAnswers:
        field = self.field
        return CodeStreamAnswers(
            api_url=url.strip(),
            upstream_ca=field.extra_value("upstream-ca").strip(),
            upstream_address=field.extra_value("upstream-address").strip(),
            public_api_url=field.extra_value("public-api-url").strip(),
        )

    async def _check(self, url: str) -> list[Finding]:
        from wizard.checks.upstream import check_upstream

        return await check_upstream(self._answers(url), self.wizard.context)

    def store(self, answers: Answers) -> None:
        """The URL, the CA file and the pinned address; the release the API reported."""
        from wizard.checks.fingerprint import release_in

        typed = self._answers(self.field.value)
        # replace(): keep the rest of the section ([codestream] release) as loaded.
        answers.codestream = replace(
            answers.codestream,
            api_url=typed.api_url,
            upstream_ca=typed.upstream_ca,
            upstream_address=typed.upstream_address,
            public_api_url=typed.public_api_url,
        )
        self.wizard.release = release_in(self.field.findings)
