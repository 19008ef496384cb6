"""The one IDNA helper: what every layer compares, resolves and writes into nginx."""

from __future__ import annotations

import pytest

from wizard.hostnames import (
    label_to_ascii,
    label_to_unicode,
    to_ascii,
    to_ascii_lenient,
    uts46_map,
)


def test_whole_names_become_lower_case_punycode() -> None:
    assert to_ascii("Bücher.Example.com") == "xn--bcher-kva.example.com"
    assert to_ascii("bastion.example.com") == "bastion.example.com"


def test_names_idna_refuses_raise_value_error_with_the_reason() -> None:
    with pytest.raises(ValueError, match=r"\S"):
        to_ascii("a..b")
    with pytest.raises(ValueError, match=r"\S"):
        to_ascii("under_score.example.com")


def test_lenient_form_never_raises_and_matches_nginx_server_name_rules() -> None:
    assert to_ascii_lenient(" BASTION.demo.test. ") == "bastion.demo.test"
    assert to_ascii_lenient("Bücher.example.") == "xn--bcher-kva.example"
    assert to_ascii_lenient("Under_Score.test") == "under_score.test"


def test_labels_both_ways() -> None:
    assert label_to_ascii("bücher") == "xn--bcher-kva"
    assert label_to_ascii("plain") == "plain"
    assert label_to_unicode("xn--bcher-kva") == "bücher"
    with pytest.raises(ValueError, match=r"\S"):
        label_to_unicode("xn--zz-!!")


def test_uts46_folds_case_and_full_width_dots() -> None:
    assert uts46_map("EXAMPLE\uff0ecom") == "example.com"
