"""``hqnn_core.option_text``: the one reader of ``KEY=VALUE`` and ``NAME?key=value&...`` backend options."""

from __future__ import annotations

import pytest

from hqnn_core.errors import ConfigError
from hqnn_core.option_text import parse_pairs, parse_query, read_value, split_pairs, split_query


@pytest.mark.parametrize(("raw", "value"), [
    ("5", 5), ("-3", -3), ("0.05", 0.05), ("1.0e-3", 1e-3), ("true", True), ("false", False),
    ("null", None), ("", None), ("  ", None), ("statevector", "statevector"),
    ("'5'", "5"), ('"true"', "true"), ('"a b"', "a b"), ("[1, 2]", [1, 2]),
])
def test_values_are_read_as_yaml_scalars(raw, value):
    got = read_value(raw)
    assert got == value and type(got) is type(value)


def test_pairs_are_typed_split_at_the_first_equals_and_keys_stripped():
    got = parse_pairs(["method=statevector", " seed = 5", "noise=0.01", "flag=true", "url=a=b", "empty="], "--backend-option")
    assert got == {"method": "statevector", "seed": 5, "noise": 0.01, "flag": True, "url": "a=b", "empty": None}
    assert list(got) == ["method", "seed", "noise", "flag", "url", "empty"]
    assert parse_pairs([], "--backend-option") == {}


@pytest.mark.parametrize("word", ["seed", "=5", " =5", ""])
def test_a_word_without_a_key_or_equals_names_the_word_and_the_form(word):
    with pytest.raises(ConfigError, match=rf"--backend-option: {word!r} is not key=value; write options as KEY=VALUE"):
        parse_pairs(["method=statevector", word], "--backend-option")


def test_a_key_given_twice_is_an_error_naming_both_values():
    with pytest.raises(ConfigError, match=r"--backend-option: option 'seed' is given twice \(seed=1 and seed=2\); give it once"):
        parse_pairs(["seed=1", "method=x", " seed=2"], "--backend-option")
    with pytest.raises(ConfigError, match="'rate' is given twice"):
        split_query("faulty:torch?rate=0.1&rate=0.2", "backend")


def test_an_unreadable_value_names_the_key_and_how_to_quote():
    with pytest.raises(ConfigError, match=r"--backend-option: cannot read 'name=\[1, 2' .*quote a string value"):
        parse_pairs(["name=[1, 2"], "--backend-option")
    with pytest.raises(ConfigError, match=r"backend 'x': cannot read 'a=\{' "):
        parse_query("torch?a={", "backend 'x'")


def test_query_form_keeps_the_name_and_decodes_like_a_url_query():
    assert split_query("faulty:torch?rate=0.3&kinds=throttle,lost", "b") == ("faulty:torch", {"rate": "0.3", "kinds": "throttle,lost"})
    assert parse_query("torch.noisy?readout_error=0.05&seed=3&label=my+run&sep=a%26b%3Dc", "b") == (
        "torch.noisy", {"readout_error": 0.05, "seed": 3, "label": "my run", "sep": "a&b=c"})
    assert parse_query(" torch ", "b") == ("torch", {})
    assert parse_query("torch?", "b") == ("torch", {})
    assert parse_query("torch?name=%27no%27", "b")[1] == {"name": "no"}  # quoted: a string, not YAML's False


@pytest.mark.parametrize("text", ["torch?a=1&&b=2", "torch?a=1&", "torch?&a=1"])
def test_query_form_rejects_an_empty_option(text):
    with pytest.raises(ConfigError, match=r"an empty option between '&'.*NAME\?key=value&key=value"):
        split_query(text, "backend")


def test_query_form_names_the_bad_word_and_the_query_form():
    with pytest.raises(ConfigError, match=r"backend 'torch\?x': 'novalue' is not key=value; write options as NAME\?key=value&key=value"):
        split_query("torch?seed=1&novalue", "backend 'torch?x'")


def test_split_pairs_leaves_values_as_written():
    assert split_pairs(["a=01", "b= x "], "w") == {"a": "01", "b": " x "}
