"""The explicit claim grammar: one claim a line, in a ```` ```claims ```` block or a frontmatter ``claims:``.

::

    claim    := quantity "(" model { "," option } ")" op value [ "#" comment ]
    quantity := params | active_params | weights | kv_cache | training | flops_per_token | training_flops
    model    := NAME | "[[" note "]]" | '"' NAME '"'      preset name or alias, or a note holding a model-spec
    option   := value | key "=" value                     positional or named, in any order after the model
    op       := "=" | "==" | "≈" | "~" | "~=" | "<" | ">" | "<=" | ">=" | "≤" | "≥"
    value    := a quantity: 6.7B, 13B, 13.5 GB, 1 GiB, 67억, 6,738,415,616, 1.2e21

Examples (each parses exactly as written)::

    params(LLaMA-7B) ≈ 6.7B
    active_params(Mixtral-8x7B) ≈ 13B
    weights(LLaMA-7B, fp16) ≈ 13.5 GB
    kv_cache(Llama-3-8B, seq=8192, bf16) = 1 GiB
    training(LLaMA-7B, adamw, zero=3, gpus=8) ≈ 14 GB

The README's "Claims" section documents each quantity's options and the tolerance rules.  Errors are
``ValueError`` whose message starts with the 1-based column and says what was expected there.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Literal

from vault_tools.claims.numbers import Kind, Stated, parse_quantity
from vault_tools.lazyre import lazy_compile
from vault_tools.records import record

Op = Literal["=", "≈", "<", ">", "≤", "≥"]


@record
class Quantity:
    """One thing a claim can measure."""

    name: str
    kind: Kind
    usage: str


QUANTITIES: MappingProxyType[str, Quantity] = MappingProxyType(
    {
        q.name: q
        for q in (
            Quantity("params", "count", "params(MODEL)"),
            Quantity("active_params", "count", "active_params(MODEL)"),
            Quantity("weights", "bytes", "weights(MODEL, DTYPE|QUANT)"),
            Quantity("kv_cache", "bytes", "kv_cache(MODEL, seq=N, batch=N, DTYPE)"),
            Quantity("training", "bytes", "training(MODEL, OPTIMIZER, zero=N, gpus=N, ...)"),
            Quantity("flops_per_token", "count", "flops_per_token(MODEL)"),
            Quantity("training_flops", "count", "training_flops(MODEL, tokens=N)"),
        )
    }
)
QUANTITY_ALIASES: MappingProxyType[str, str] = MappingProxyType(
    {
        "total_params": "params",
        "parameters": "params",
        "active": "active_params",
        "weight_memory": "weights",
        "model_size": "weights",
        "kv": "kv_cache",
        "training_memory": "training",
        "flops": "flops_per_token",
    }
)
_OPS: tuple[tuple[str, Op], ...] = (
    ("==", "="),
    ("~=", "≈"),
    ("<=", "≤"),
    (">=", "≥"),
    ("=", "="),
    ("≈", "≈"),
    ("~", "≈"),
    ("<", "<"),
    (">", ">"),
    ("≤", "≤"),
    ("≥", "≥"),
)
_NAME_RE = lazy_compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)")
_KEY_RE = lazy_compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=(?!=)")
# Claims lines may start with a list marker when pasted into a frontmatter list by hand.
_LIST_MARKER_RE = lazy_compile(r"\s*(?:[-*+]\s+)?")


@record
class ExplicitClaim:
    """A parsed claim line."""

    text: str
    quantity: str
    model: str  # the note or preset name, without brackets or quotes
    link: bool  # written as a [[wikilink]]
    positional: tuple[str, ...]
    options: tuple[tuple[str, str], ...]  # key=value pairs in the order written
    op: Op
    stated: Stated

    @property
    def kind(self) -> Kind:
        return QUANTITIES[self.quantity].kind

    def option(self, *keys: str) -> str | None:
        """The value of the first of ``keys`` given as ``key=value``."""
        for key, value in self.options:
            if key in keys:
                return value
        return None


def parse_claim(line: str) -> ExplicitClaim:
    """Parse one claim line; ``ValueError("column N: expected ...")`` when it does not fit the grammar."""
    text = _strip_comment(line)
    pos = _LIST_MARKER_RE().match(text).end()  # type: ignore[union-attr]  # the pattern matches ""
    name_match = _NAME_RE().match(text, pos)
    if name_match is None:
        raise ValueError(f"column {pos + 1}: expected a quantity such as {', '.join(QUANTITIES)}")
    word = name_match.group(1)
    quantity = QUANTITY_ALIASES.get(word, word)
    if quantity not in QUANTITIES:
        column = name_match.start(1) + 1
        raise ValueError(
            f"column {column}: unknown quantity {word!r}; expected one of {', '.join(QUANTITIES)}"
        )
    pos = _skip_space(text, name_match.end())
    if not text.startswith("(", pos):
        raise ValueError(f"column {pos + 1}: expected '(' after {word!r}, as in {QUANTITIES[quantity].usage}")
    model, link, pos = _model(text, pos + 1)
    positional: list[str] = []
    options: list[tuple[str, str]] = []
    while True:
        pos = _skip_space(text, pos)
        if text.startswith(")", pos):
            pos += 1
            break
        if not text.startswith(",", pos):
            raise ValueError(f"column {pos + 1}: expected ',' or ')'")
        key_match = _KEY_RE().match(text, pos + 1)
        value_start = key_match.end() if key_match else pos + 1
        value, pos = _argument(text, value_start)
        if key_match:
            options.append((key_match.group(1).lower(), value))
        else:
            positional.append(value)
    pos = _skip_space(text, pos)
    op = _op(text, pos)
    if op is None:
        raise ValueError(f"column {pos + 1}: expected a comparison: = ≈ ~ < > ≤ ≥ (or ==, ~=, <=, >=)")
    symbol, canonical = op
    value_text = text[pos + len(symbol) :]
    if not value_text.strip():
        raise ValueError(f"column {pos + len(symbol) + 1}: expected a value such as 6.7B or 13.5 GB")
    try:
        stated = parse_quantity(value_text)
    except ValueError as exc:
        raise ValueError(f"column {_skip_space(text, pos + len(symbol)) + 1}: {exc}") from None
    if stated.kind != QUANTITIES[quantity].kind:
        want = (
            "a byte size such as 13.5 GB" if QUANTITIES[quantity].kind == "bytes" else "a count such as 6.7B"
        )
        raise ValueError(f"column {pos + len(symbol) + 1}: {quantity} is compared with {want}")
    return ExplicitClaim(
        text=text.strip(),
        quantity=quantity,
        model=model,
        link=link,
        positional=tuple(positional),
        options=tuple(options),
        op=canonical,
        stated=stated,
    )


def _strip_comment(line: str) -> str:
    """Drop a trailing ``# comment`` (a '#' after whitespace; wikilinks may hold '#' for headings)."""
    match = re.search(r"\s#(?!\S*\]\])", line)
    return line[: match.start()] if match else line


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _model(text: str, pos: int) -> tuple[str, bool, int]:
    """The model argument: ``[[note]]``, ``"name"`` or a bare name up to ',' or ')'."""
    pos = _skip_space(text, pos)
    if text.startswith("[[", pos):
        end = text.find("]]", pos)
        if end < 0:
            raise ValueError(f"column {pos + 1}: '[[' is never closed; expected ']]'")
        target = text[pos + 2 : end].split("|", 1)[0].split("#", 1)[0].strip()
        if not target:
            raise ValueError(f"column {pos + 3}: expected a note name inside [[...]]")
        return target, True, end + 2
    if text.startswith('"', pos):
        end = text.find('"', pos + 1)
        if end < 0:
            raise ValueError(f"column {pos + 1}: the quoted model name is never closed")
        return text[pos + 1 : end].strip(), False, end + 1
    value, end = _argument(text, pos)
    if not value:
        raise ValueError(f"column {pos + 1}: expected a model: a preset name such as LLaMA-7B or a [[note]]")
    return value, False, end


def _argument(text: str, pos: int) -> tuple[str, int]:
    """A bare argument up to the next ',' or ')' (never across a line)."""
    pos = _skip_space(text, pos)
    end = pos
    while end < len(text) and text[end] not in ",)":
        end += 1
    if end >= len(text):
        raise ValueError(f"column {len(text) + 1}: expected ')' to close the argument list")
    value = text[pos:end].strip()
    if not value:
        raise ValueError(f"column {pos + 1}: expected a value before {text[end]!r}")
    return value, end


def _op(text: str, pos: int) -> tuple[str, Op] | None:
    for symbol, canonical in _OPS:
        if text.startswith(symbol, pos):
            return symbol, canonical
    return None
