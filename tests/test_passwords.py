"""Passwords after the NCSC's guidance: a minimum length, none of the commonest passwords
(the list shipped as data, compared without regard to case), one plain line per refusal."""

from __future__ import annotations

import pytest

from domain.passwords import (
    COMMON_PASSWORDS,
    MIN_LENGTH,
    SAME_AS_ID,
    TOO_COMMON,
    TOO_SHORT,
    common_passwords,
    password_problem,
)


def test_the_shipped_list_names_its_source_and_licence_and_is_a_useful_size() -> None:
    header = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("# ") and "django" in header.lower() and "BSD-3-Clause" in header
    assert COMMON_PASSWORDS.with_suffix(".LICENSE").exists()
    common = common_passwords()
    assert 5_000 <= len(common) <= 100_000
    assert header.lower() not in common  # the header is not a password
    assert all(p == p.lower() for p in common)


@pytest.mark.parametrize(
    "password", ["0123456789", "password123", "PASSWORD123", "Password123", "qwertyuiop"]
)
def test_the_commonest_passwords_are_refused_whatever_their_case(password: str) -> None:
    assert password_problem(password) == TOO_COMMON


def test_short_passwords_are_refused_with_the_minimum_named() -> None:
    assert MIN_LENGTH == 10
    assert password_problem("Xk3$vq9!") == TOO_SHORT
    assert "10 characters" in TOO_SHORT


def test_the_sign_in_id_is_not_a_password() -> None:
    assert password_problem("Tia.Brennan-01", "tia.brennan-01") == SAME_AS_ID


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "lantern orbit pickle", "plum tractor 42"]
)
def test_a_long_uncommon_password_is_accepted(password: str) -> None:
    assert password_problem(password, "tia") is None


def test_every_refusal_is_one_line() -> None:
    for message in (TOO_SHORT, TOO_COMMON, SAME_AS_ID):
        assert "\n" not in message and message[0].islower()
