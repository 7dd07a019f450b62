"""Helpers of the S13-S16 rules that are easiest to pin directly: limit strings, origin regexes, key shapes."""

from __future__ import annotations

import pytest

from archlint.analysis.cors import regex_is_wildcard
from archlint.analysis.rate_limits import looser, parse_limit, rate
from archlint.checks.s16_caching import glob_prefix, shape
from archlint.collect.facts import Lit, Name
from archlint.model import Span

PROBES = ("https://attacker.invalid", "http://attacker.invalid", "null")


@pytest.mark.parametrize("text", ["5/min", "", "100/minute;", "ten per minute"])
def test_limit_strings_the_limits_grammar_rejects(text):
    assert isinstance(parse_limit(text), str)


@pytest.mark.parametrize(
    ("text", "per_second"),
    [
        ("10/minute", 10 / 60),
        ("10 per minute", 10 / 60),
        ("10/hour;100/day", 100 / 86400),
        ("20/2 minutes", 20 / 120),
        ("5/minutes", 5 / 60),
    ],
)
def test_limits_are_compared_by_their_strictest_rate(text, per_second):
    parsed = parse_limit(text)
    assert not isinstance(parsed, str)
    assert rate(parsed) == pytest.approx(per_second)


def test_looser_compares_rates_not_strings():
    required = rate(parse_limit("10/minute"))  # type: ignore[arg-type]
    assert looser(rate(parse_limit("1000/hour")), required)  # type: ignore[arg-type]
    assert not looser(rate(parse_limit("600/hour")), required)  # type: ignore[arg-type]
    assert not looser(rate(parse_limit("10 per 1 minute")), required)  # type: ignore[arg-type]


@pytest.mark.parametrize("regex", [".*", ".+", "https?://.*", "^.*$", r"https://[a-z\.]+"])
def test_origin_regexes_that_accept_any_origin(regex):
    assert regex_is_wildcard(regex, PROBES)


@pytest.mark.parametrize("regex", [r"https://.*\.example\.com", r"https://(app|admin)\.example\.com", "(unclosed"])
def test_origin_regexes_limited_to_a_domain(regex):
    assert not regex_is_wildcard(regex, PROBES)


def test_key_shapes_ignore_positions():
    a = Name(Span(1, 1, 1, 4), "key")
    b = Name(Span(7, 9, 7, 12), "key")
    assert shape(a) == shape(b)
    assert shape(a) != shape(Name(Span(1, 1, 1, 4), "other"))
    assert shape(Lit(Span(1, 1, 1, 2), "a")) != shape(Name(Span(1, 1, 1, 2), "a"))


@pytest.mark.parametrize(("pattern", "prefix"), [("items:*", "items:"), ("user:?:x", "user:"), ("*", None), ("exact", "exact")])
def test_glob_prefix(pattern, prefix):
    assert glob_prefix(pattern) == prefix
