"""Backend options written as text: ``KEY=VALUE`` words and ``NAME?key=value&key=value`` names.

The one reader behind ``hqnn conformance --backend-option``, pytest's ``--hqnn-backend-option``,
``hqnn compare --backend``, the scikit-learn estimators' ``backend="NAME?..."`` and
``faulty:<backend>?...``, so that every place reads values, quoting and mistakes the same way:

- a value is read as a YAML scalar: ``5`` is an int, ``0.05`` a float, ``true`` a bool, ``null``
  or nothing at all is ``None``, anything else a string; quote to keep a string
  (``name='"no"'``, ``label='"1.0"'``);
- the first ``=`` splits key from value, so values may hold ``=``;
- in the ``?`` form, pairs are joined by ``&`` and percent-decoded like a URL query (``+`` is a
  space, ``%26`` an ``&``);
- a word without ``=``, an empty key, a key given twice or an unreadable value is one
  :class:`~hqnn_core.errors.ConfigError` naming the word and the fix.

It imports only :mod:`hqnn_core.errors` and PyYAML, so every layer (adapters and plugins too) may use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote_plus

import yaml

from hqnn_core.errors import ConfigError

QUERY_FORM = "NAME?key=value&key=value"


def read_value(raw: str, where: str = "option", key: str = "") -> Any:
    """``raw`` as a YAML scalar (``"5"`` -> 5, ``"true"`` -> True, ``""`` -> None, ``"'5'"`` -> ``"5"``)."""
    if not raw.strip():
        return None
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError as e:
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        written = f"{key}={raw}" if key else raw
        raise ConfigError(f"{where}: cannot read {written!r} ({problem}); quote a string value, e.g. key='\"text\"'.") from None


def split_pairs(words: Iterable[str], where: str, form: str = "KEY=VALUE", decode: Callable[[str], str] = str) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` -> ``{"a": "1", "b": "x=y"}``: values left as written, keys stripped of spaces.

    ``decode`` is applied to key and value after the split (the query form percent-decodes them).
    """
    raw: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        key, value = decode(key).strip(), decode(value)
        if not sep or not key:
            raise ConfigError(f"{where}: {word!r} is not key=value; write options as {form}, e.g. seed=5.")
        if key in raw:
            raise ConfigError(f"{where}: option {key!r} is given twice ({key}={raw[key]} and {key}={value}); give it once.")
        raw[key] = value
    return raw


def parse_pairs(words: Iterable[str], where: str) -> dict[str, Any]:
    """``["method=statevector", "seed=5"]`` -> ``{"method": "statevector", "seed": 5}`` (values read by :func:`read_value`)."""
    return {key: read_value(value, where, key) for key, value in split_pairs(words, where).items()}


def split_query(text: str, where: str) -> tuple[str, dict[str, str]]:
    """``"faulty:torch?rate=0.3&kinds=throttle,lost"`` -> ``("faulty:torch", {"rate": "0.3", "kinds": "throttle,lost"})``.

    The values are left as written (percent-decoded); a name without ``?`` (or with nothing after it) has no options.
    """
    name, _, query = text.strip().partition("?")
    if not query:
        return name, {}
    words = query.split("&")
    if "" in words:
        raise ConfigError(f"{where}: an empty option between '&' (or after '?'); write options as {QUERY_FORM}.")
    return name, split_pairs(words, where, QUERY_FORM, decode=unquote_plus)


def parse_query(text: str, where: str) -> tuple[str, dict[str, Any]]:
    """``"torch.noisy?readout_error=0.05&seed=3"`` -> ``("torch.noisy", {"readout_error": 0.05, "seed": 3})``."""
    name, raw = split_query(text, where)
    return name, {key: read_value(value, where, key) for key, value in raw.items()}


__all__ = ["QUERY_FORM", "parse_pairs", "parse_query", "read_value", "split_pairs", "split_query"]
