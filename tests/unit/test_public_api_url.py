"""``[codestream] public_api_url``: the URL users' browsers know, for every OAuth redirect.

CodeStream redirects to ``apiServer.authOrigin`` + ``/provider-token/<provider>``,
``authOrigin`` defaulting to ``publicApiUrl`` + ``/no-auth``
(``shared/server_utils/custom_config.js``, ``provider_auth_request.js``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_render import make_answers, render
from wizard.answers import dumps_answers, loads_answers
from wizard.cli import main
from wizard.constants import NEXT_STEPS_NAME, SERVER_CONF_NAME, SLACK_MANIFEST_NAME
from wizard.merge_config import auth_origin
from wizard.render import RenderError

INTERNAL = "http://10.20.0.5:8080"
PUBLIC = "https://codestream.my-company.com"


def test_the_slack_redirect_uses_the_public_url_and_nginx_the_internal_one() -> None:
    files = render(make_answers(codestream__api_url=INTERNAL, codestream__public_api_url=PUBLIC))
    manifest = json.loads(files[SLACK_MANIFEST_NAME].content)
    assert manifest["oauth_config"]["redirect_urls"] == [f"{PUBLIC}/no-auth/provider-token/slack"]
    steps = files[NEXT_STEPS_NAME].content.decode()
    assert f"{PUBLIC}/no-auth/provider-token/slack" in steps
    assert f"{INTERNAL}/no-auth/provider-token/slack" not in steps
    conf = files[SERVER_CONF_NAME].content.decode()
    assert "10.20.0.5:8080" in conf
    assert "codestream.my-company.com" not in conf


def test_empty_it_is_the_api_url() -> None:
    files = render(make_answers(codestream__api_url=INTERNAL))
    manifest = json.loads(files[SLACK_MANIFEST_NAME].content)
    assert manifest["oauth_config"]["redirect_urls"] == [f"{INTERNAL}/no-auth/provider-token/slack"]


@pytest.mark.parametrize("value", ["ftp://x.example", "https://cs.example/api", "not a url"])
def test_a_bad_public_url_is_refused_naming_the_key(value: str) -> None:
    with pytest.raises(RenderError) as caught:
        render(make_answers(codestream__public_api_url=value))
    assert "codestream.public_api_url" in caught.value.keys


def test_it_is_saved_and_loaded() -> None:
    answers = make_answers(codestream__public_api_url=PUBLIC)
    text = dumps_answers(answers)
    assert f'public_api_url = "{PUBLIC}"' in text
    assert loads_answers(text).codestream.public_api_url == PUBLIC


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (
            {"publicApiUrl": PUBLIC + "/"},
            (f"{PUBLIC}/no-auth", "apiServer.publicApiUrl + /no-auth"),
        ),
        (
            {"publicApiUrl": PUBLIC, "authOrigin": "https://auth.my-company.com/no-auth"},
            ("https://auth.my-company.com/no-auth", "apiServer.authOrigin"),
        ),
        ({"port": 443}, None),
    ],
)
def test_auth_origin_of_a_dump(server: dict[str, Any], expected: tuple[str, str] | None) -> None:
    assert auth_origin({"apiServer": server}) == expected
    assert auth_origin({}) is None


def test_merge_config_says_where_slack_sends_users_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "dump.json"
    config.write_text(json.dumps({"apiServer": {"publicApiUrl": PUBLIC}}))
    snippet = tmp_path / "snippet.json"
    snippet.write_text(json.dumps({"integrations": {"slack": {"cloud": {"appId": "A1"}}}}))
    code = main(["merge-config", "--snippet", str(snippet), "--into", str(config), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"sends users back to {PUBLIC}/no-auth/provider-token/slack" in out
    assert "apiServer.publicApiUrl + /no-auth" in out
    assert "public_api_url" in out
