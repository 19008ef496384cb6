"""The core every artifact is rendered with: results, errors, nginx quoting, the Jinja2 environment.

No answer can add an nginx directive. Every value is validated first
(:mod:`wizard.render.validate`) and then placed in the server block only through
the explicit ``nginx_quote`` (double-quoted nginx string) or ``nginx_int``
filters. The nginx template is rendered with a ``finalize`` hook that refuses
any ``{{ ... }}`` output that did not come from one of those filters, so a
template change that forgets to quote fails loudly instead of writing an
injectable file.

How nginx reads a double-quoted string (``ngx_conf_read_token``): the token
ends at the next unescaped ``"``; inside it ``;``, ``{``, ``}``, ``#``, ``'``
and blanks are ordinary characters; ``\\"`` stands for ``"`` and ``\\\\`` for
``\\``. Directives that take variables (``ssl_certificate`` since 1.15.9,
``proxy_pass``, ``proxy_set_header``, ...) then expand ``$name`` *after*
unquoting, and nginx has no escape for ``$``: a value holding ``$`` cannot be
written safely and is refused. Control characters are refused too.

jinja2 is imported where it is used, never at module level.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jinja2


class RenderError(Exception):
    """The answers cannot be rendered; every problem names its key and the fix.

    Attributes:
        problems: One ``"key: what is wrong and how to fix it"`` line per problem.
        keys: The dotted answers keys (or option names) at fault, in order.
    """

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        self.keys = tuple(p.split(":", 1)[0] for p in self.problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        if len(self.problems) == 1:
            return f"cannot render the files: {self.problems[0]}"
        lines = "\n".join(f"  - {p}" for p in self.problems)
        return f"cannot render the files ({len(self.problems)} problems):\n{lines}"


class NginxQuoteError(ValueError):
    """A value that cannot be written into an nginx file safely."""


@dataclass(frozen=True)
class RenderedFile:
    """One generated file, in memory.

    Attributes:
        name: File name (no directory).
        content: The bytes to write.
        mode: Permission bits (0600 for files holding secrets).
    """

    name: str
    content: bytes
    mode: int


class NginxToken(str):
    """Text already made safe for an nginx file by a quoting filter."""

    __slots__ = ()


def bad_character(text: str) -> str | None:
    """Describe the first control, surrogate or line-separator character, if any."""
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp"):
            name = unicodedata.name(char, "a control character")
            return f"U+{ord(char):04X} ({name}) at position {position}"
    return None


def nginx_quote(value: object) -> NginxToken:
    """``value`` as one double-quoted nginx string argument.

    Backslashes and double quotes are escaped (``\\\\``, ``\\"``); ``;``, ``{``,
    ``}``, ``#``, quotes and blanks are harmless inside the quotes.

    Raises:
        NginxQuoteError: For non-strings, control characters and ``$`` (nginx
            expands variables inside quoted strings and has no escape for ``$``).
    """
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise NginxQuoteError(f"nginx_quote takes text, not {type(value).__name__}")
    text = str(value)
    bad = bad_character(text)
    if bad is not None:
        raise NginxQuoteError(f"{text!r:.80} contains {bad}; nginx files cannot hold it")
    if "$" in text:
        raise NginxQuoteError(f"{text!r:.80} contains '$', which nginx would expand as a variable")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return NginxToken(f'"{escaped}"')


_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def nginx_url_via_variable(path: object, scheme: object, variable: object) -> NginxToken:
    """``"SCHEME://${VARIABLE}PATH"``: a quoted URL whose host comes from an nginx variable.

    The literal parts follow :func:`nginx_quote`'s rules; ``variable`` must be a
    plain variable name, so the only ``$`` in the result is the intended one.
    """
    if scheme not in ("http", "https"):
        raise NginxQuoteError(f"scheme must be http or https, not {scheme!r:.40}")
    if not isinstance(variable, str) or not _VARIABLE_NAME.fullmatch(variable):
        raise NginxQuoteError(f"{variable!r:.40} is not an nginx variable name")
    if not isinstance(path, str) or not path.startswith("/"):
        raise NginxQuoteError(f"{path!r:.60} is not an absolute URL path")
    quoted_path = nginx_quote(path)[1:-1]
    return NginxToken(f'"{scheme}://${{{variable}}}{quoted_path}"')


def nginx_int(value: object) -> NginxToken:
    """An integer argument (a port, a size); refuses anything else."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise NginxQuoteError(f"nginx_int takes an integer, not {value!r:.40}")
    return NginxToken(str(value))


# -- the Jinja2 environment ------------------------------------------------------------


def _templates_source() -> Callable[[str], str | None]:
    """A loader function: ``wizard.templates`` package data, else the repo's ``templates/``."""
    import importlib.resources

    roots: list[Any] = []
    with contextlib.suppress(ModuleNotFoundError, TypeError):  # broken install: repo dir
        roots.append(importlib.resources.files("wizard.templates"))
    roots.append(Path(__file__).resolve().parents[2] / "templates")

    def load(name: str) -> str | None:
        if "/" in name or "\\" in name or name.startswith("."):
            return None
        for root in roots:
            candidate = root / name
            if candidate.is_file():
                text: str = candidate.read_text(encoding="utf-8")
                return text
        return None

    return load


def make_environment() -> jinja2.Environment:
    """The Jinja2 environment for all templates.

    ``StrictUndefined`` (a misspelt variable is an error, not an empty string),
    no autoescaping (nothing here is HTML), trailing newlines kept, and the
    ``nginx_quote``/``nginx_int`` filters registered explicitly. In ``*.conf.j2``
    templates every ``{{ ... }}`` must come out of one of those filters.
    """
    import jinja2

    @jinja2.pass_context
    def finalize(context: jinja2.runtime.Context, value: object) -> object:
        name = context.name or ""
        if name.endswith(".conf.j2") and not isinstance(value, NginxToken):
            raise NginxQuoteError(
                f"{name}: {value!r:.60} reached the nginx file without nginx_quote/nginx_int"
            )
        return value

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(_templates_source()),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # noqa: S701 - nginx/Markdown output, quoted explicitly
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=finalize,
    )

    def strict(function: Callable[..., NginxToken]) -> Callable[..., NginxToken]:
        """Let an undefined value raise Jinja's own UndefinedError, naming the variable."""

        def filter_(value: object, *args: object) -> NginxToken:
            if isinstance(value, jinja2.Undefined):
                str(value)  # StrictUndefined raises here
            return function(value, *args)

        return filter_

    env.filters["nginx_quote"] = strict(nginx_quote)
    env.filters["nginx_int"] = strict(nginx_int)
    env.filters["nginx_url_via_variable"] = strict(nginx_url_via_variable)
    return env


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> bytes:
    """Render one template to bytes; a quoting refusal here is a bug, reported as one."""
    try:
        text = env.get_template(name).render(**context)
    except NginxQuoteError as exc:  # validation should have caught it: a bug, say so
        raise RenderError([f"internal: {exc} (please report this)"]) from exc
    return text.encode("utf-8")
