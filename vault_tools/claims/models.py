"""Model names a note may mention: the presets (and any extra models), found fast in a line of prose."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal

from vault_tools.core.presets import presets
from vault_tools.names import normalize_name
from vault_tools.records import field, record

if TYPE_CHECKING:  # the core loads when a named model is first counted, not to find names
    from vault_tools.core.params import ParamCount
    from vault_tools.core.spec import ModelSpec

RefSource = Literal["preset", "wikilink", "note", "unknown"]

# Pieces of a model name as it appears in text; names are matched over runs of these joined by at most one
# separator character, compared after ``normalize_name`` (so ``LLaMA 7B`` = ``llama-7b`` = ``LLaMA7B``).
_PIECE_RE = re.compile(r"[A-Za-z0-9]+(?:/[A-Za-z0-9]+)*")
_SEPARATORS = frozenset(" \t-_.")
# The size written in a model's name (``405B`` in "Llama 3.1 405B"), never an expert shape like ``8x7B``.
_SIZE_LABEL_RE = re.compile(r"(?<![x×\d.])(\d+(?:\.\d+)?)\s?([KMBT])$", re.IGNORECASE)
_SIZE_FACTORS = {"k": 10**3, "m": 10**6, "b": 10**9, "t": 10**12}
# A size anywhere in a preset's name, standing alone: ``30B`` in "Qwen3-30B-A3B", not its active ``A3B``.
_NAME_SIZE_RE = re.compile(r"(?<![A-Za-z0-9.x×])(\d+(?:\.\d+)?)([KMBT])(?![A-Za-z0-9])", re.IGNORECASE)


# A size as a model's name writes it: up to three digits, one decimal at most ("6.7", "13", "350").
_SIZE_LIKE_RE = re.compile(r"\d{1,3}|\d\.\d")
_PARAM_WORD_RE = re.compile(r"\s*(?:params?|parameters?|파라미터|매개\s?변수)(?![A-Za-z])", re.IGNORECASE)


def _size_value(number: str, letter: str) -> Fraction:
    """``("6.7", "B")`` → 6.7·10⁹."""
    return Fraction(number) * _SIZE_FACTORS[letter.lower()]


def name_sizes(names: Iterable[str]) -> frozenset[tuple[str, Fraction]]:
    """The sizes written in ``names``, as written and as a count: a model's nominal sizes."""
    return frozenset(
        (number, _size_value(number, letter))
        for name in names
        for number, letter in _NAME_SIZE_RE.findall(name)
    )


@record
class ModelEntry:
    """A known model: its catalog key, display title and the mapping ``spec_from_mapping`` accepts."""

    key: str
    title: str
    mapping: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # The sizes its names carry, as written and as a count: ``("1.5", 1.5·10⁹)`` for GPT-2 XL (1.5B).
    sizes: frozenset[tuple[str, Fraction]] = frozenset()


@record
class ModelRef:
    """A model reference found in a line: its span, how it was recognised, and the name to resolve."""

    text: str
    start: int
    end: int
    source: RefSource
    name: str  # catalog key, wikilink target, note title or the unknown name as written

    @property
    def size_label(self) -> tuple[str, int] | None:
        """The size in the name as written and as a count (``Llama 3.1 405B`` → ``("405", 405·10⁹)``)."""
        match = _SIZE_LABEL_RE.search(self.text.rstrip())
        if match is None:
            return None
        return match.group(1), int(_size_value(match.group(1), match.group(2)))


_MAX_COUNTS = 512


# Bare family names prose uses for any of the family's sizes: "GPT-2 has 1.5B parameters" is about GPT-2 XL
# and "BERT has 340M" about BERT large, though ``calc gpt2`` and ``calc bert`` mean the checkpoints the Hub
# calls so.  A count stated for such a name is checked against each size listed (preset keys), by the name
# as written after ``normalize_name``.  ``complete``: the family was released in just these sizes, so a
# count that fits none is wrong; otherwise it may be a size the presets lack, and it is not judged.
FAMILIES: Mapping[str, tuple[tuple[str, ...], bool]] = MappingProxyType(
    {
        "gpt2": (("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl"), True),
        "bert": (("bert-base", "bert-large"), True),
        "mixtral": (("mixtral-8x7b", "mixtral-8x22b"), True),
        "roberta": (("roberta-base",), False),
        "t5": (("t5-base",), False),
        "falcon": (("falcon-7b", "falcon-40b"), False),
        "mistral": (("mistral-7b",), False),
        "qwen3moe": (("qwen3-30b-a3b",), False),
    }
)


@record
class Family:
    """The sizes a bare family name may mean (``FAMILIES``), as catalog entries."""

    name: str  # as written
    members: tuple[ModelEntry, ...]
    complete: bool

    def named_in(self, words: str) -> tuple[ModelEntry, ...]:
        """The sizes ``words`` (next to the family name) single out by a word of their titles that no other
        size has: "BERT (large)", "GPT-2 (XL)", "Mixtral (8x22B)"; all of them when none does."""
        said = set(_WORD_RE.findall(words.lower()))
        titles = [set(_WORD_RE.findall(entry.title.lower())) for entry in self.members]
        common = set.intersection(*titles) if titles else set()
        named = tuple(entry for entry, own in zip(self.members, titles, strict=True) if said & (own - common))
        return named or self.members


_WORD_RE = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?[a-z]*")


class ModelCatalog:
    """Known models by every normalised name and alias, with a cache of their parameter counts."""

    def __init__(
        self,
        named: Iterable[tuple[Sequence[str], ModelEntry]],
        families: Mapping[str, tuple[tuple[str, ...], bool]] | None = None,
    ) -> None:
        index: dict[str, ModelEntry] = {}
        longest = 1
        for names, entry in named:
            for name in names:
                normal = normalize_name(name)
                if normal:
                    index.setdefault(normal, entry)
                    longest = max(longest, len(_PIECE_RE.findall(name)))
        self._index = index
        # Every prefix of every name: a window of text that is no name's prefix cannot grow into a name.
        self._prefixes = frozenset(normal[:k] for normal in index for k in range(1, len(normal) + 1))
        self._window = longest + 2  # text may split a name into more pieces than the name itself has
        # Insertion-ordered: once past _MAX_COUNTS the oldest count goes, so a vault of 10,000 spec notes
        # does not keep 10,000 counts alive (the presets are counted again if ever evicted).
        self._counts: dict[str, tuple[ModelSpec, ParamCount] | str] = {}
        self._families = families or {}

    def lookup(self, name: str) -> ModelEntry | None:
        return self._index.get(normalize_name(name))

    def family(self, ref: ModelRef) -> Family | None:
        """The sizes ``ref`` may mean when it is a bare family name (``GPT-2``, ``BERT``), else None."""
        if ref.source != "preset" or not self._families:
            return None
        found = self._families.get(normalize_name(ref.text))
        if found is None:
            return None
        keys, complete = found
        return Family(ref.text, tuple(self._index[normalize_name(key)] for key in keys), complete)

    def with_models(self, models: Mapping[str, Mapping[str, Any]]) -> ModelCatalog:
        """This catalog plus ``models`` (title → {"aliases": [...], "config": {...}}); existing names win."""
        named: list[tuple[tuple[str, ...], ModelEntry]] = [((key,), e) for key, e in self._index.items()]
        for title, raw in models.items():
            aliases = tuple(str(a) for a in raw.get("aliases", ()))
            entry = ModelEntry(key=title, title=title, mapping=MappingProxyType(dict(raw["config"])))
            named.append(((title, *aliases), entry))
        return ModelCatalog(named, self._families)

    def spec_and_count(self, entry: ModelEntry) -> tuple[ModelSpec, ParamCount] | str:
        """The spec and exact count of ``entry`` (computed once), or why it cannot be counted."""
        cached = self._counts.get(entry.key)
        if cached is None:
            from vault_tools.core.params import count_params
            from vault_tools.core.presets import spec_from_mapping

            try:
                spec = spec_from_mapping(entry.mapping, name=entry.title)
                cached = (spec, count_params(spec))
            except ValueError as exc:
                cached = f"{entry.title}: {exc}"
            if len(self._counts) >= _MAX_COUNTS:
                del self._counts[next(iter(self._counts))]
            self._counts[entry.key] = cached
        return cached

    def find(self, text: str, extra: Mapping[str, str] | None = None) -> list[ModelRef]:
        """Every known model name in ``text``, longest match first, as non-overlapping refs.

        ``extra`` maps normalised names to a note title (the note's own title and aliases).
        """
        # Pieces are ASCII, where lower() is casefold(); most lines hold no piece any name starts with.
        found = _PIECE_RE.findall(text)
        folded = list(map(str.lower, found))
        extra_prefixes = _prefixes(extra) if extra else frozenset()
        if self._prefixes.isdisjoint(folded) and extra_prefixes.isdisjoint(folded):
            return []
        pieces = _spans(text, found)
        refs: list[ModelRef] = []
        i = 0
        while i < len(pieces):
            if folded[i] not in self._prefixes and folded[i] not in extra_prefixes:
                i += 1  # no name starts with this piece: what the loop below finds at once, sooner
                continue
            best: tuple[int, ModelRef] | None = None
            normal = ""
            for j in range(i, min(len(pieces), i + self._window)):
                piece = folded[j]
                if j > i:
                    gap = text[pieces[j - 1][1] : pieces[j][0]]
                    if len(gap) > 1 or (gap and gap not in _SEPARATORS):
                        break
                    # normalize_name keeps a dot between digits ("3.1"); do the same while joining.
                    if gap == "." and normal[-1:].isdigit() and piece[:1].isdigit():
                        normal += "."
                normal += piece
                if normal not in self._prefixes and normal not in extra_prefixes:
                    break
                start, end = pieces[i][0], pieces[j][1]
                if extra is not None and normal in extra:
                    best = (j, ModelRef(text[start:end], start, end, "note", extra[normal]))
                elif normal in self._index:
                    best = (j, ModelRef(text[start:end], start, end, "preset", self._index[normal].key))
            if best is None:
                i += 1
                continue
            j, ref = best
            if (
                (j + 1 < len(pieces) and _continues(text, ref, pieces[j][1], pieces[j + 1][0]))
                or _prefixed(text, ref.start)
                or (j + 1 < len(pieces) and self._other_size(text, ref, pieces[j][1], pieces[j + 1]))
            ):
                i = j + 2  # "Falcon 180B", "GPT-3.5", "Chinese-LLaMA-7B": a longer name the catalog lacks
                continue
            refs.append(ref)
            i = j + 1
        return refs

    def _other_size(self, text: str, ref: ModelRef, end: int, following: tuple[int, int]) -> bool:
        """Whether a name without a size is followed by one its preset's names do not carry: another size
        of the family ("GPT-3 6.7B was the baseline", where gpt-3 is GPT-3 175B)."""
        if ref.source != "preset" or text[end : following[0]] != " " or ref.size_label is not None:
            return False
        entry = self._index.get(normalize_name(ref.name))
        if entry is None or not entry.sizes:
            return False
        size = _NAME_SIZE_RE.match(text, following[0])  # ("6.7B" after "GPT-3 ": pieces split at its dot)
        if (
            size is None
            or _PARAM_WORD_RE.match(text, size.end())
            or not _SIZE_LIKE_RE.fullmatch(size.group(1))
        ):
            return False  # ("GPT-J 6.05B parameters", "GPT-3 174.6B total": the count of the model itself)
        value = _size_value(size.group(1), size.group(2))
        return all(value != nominal for _written, nominal in entry.sizes)


def _spans(text: str, pieces: Sequence[str]) -> list[tuple[int, int]]:
    """The spans of ``_PIECE_RE.findall(text)``'s pieces: each is the first occurrence after the one
    before it, as no piece character lies between two matches."""
    spans = []
    end = 0
    for piece in pieces:
        start = text.find(piece, end)
        end = start + len(piece)
        spans.append((start, end))
    return spans


# Words after a family's name that make it another model's: sizes and variants of other sizes.
_OTHER_MODEL_WORDS = frozenset(
    {"large", "small", "medium", "xl", "xxl", "tiny", "mini", "nano", "micro", "huge", "lite"}
    | {"distill", "distilled", "multilingual", "nemo"}
)
# Variant names that are prose words too ("Llama 3 8B Vision", "Mistral 7B math scores"): capitalised only.
_VARIANT_WORDS = frozenset({"vision", "vl", "coder", "math", "guard", "omni"})
_VERSION_WORD_RE = re.compile(r"v\d+")


def _prefixed(text: str, start: int) -> bool:
    """Whether the name at ``start`` is joined to a word before it (``Chinese-LLaMA-7B``, ``Code_Llama``):
    the end of another model's name."""
    return start >= 2 and text[start - 1] in "-_" and text[start - 2].isalnum()


def _continues(text: str, ref: ModelRef, end: int, next_start: int) -> bool:
    """Whether a match is only the start of a longer, different model name.

    A one-word family alias followed by a size (``Falcon 180B``, ``T5 11B``), a versioned name followed by
    a point release (``GPT-3.5``), or any name followed by a size or variant word (``RoBERTa-large``,
    ``bert-base-multilingual``) names another model; ``LLaMA-7B 6.7B``, ``BERT-base 110M`` and
    ``Llama-2-7B-chat`` do not.
    """
    gap = text[end:next_start]
    if len(gap) != 1 or gap not in _SEPARATORS:
        return False
    if not text[next_start].isdigit():
        # "RoBERTa-large", "T5-large", "Mistral Nemo", "DeepSeek-R1-Distill-…": a word that names another
        # model of the family, which this catalog does not know (it would have matched the longer name).
        # "Mistral 7B v0.3": a version the catalog would have matched had it known it.
        word = _PIECE_RE.match(text, next_start)
        if word is None:
            return False
        folded = word.group().lower()
        if folded in _VARIANT_WORDS:
            return word.group()[0].isupper()
        return folded in _OTHER_MODEL_WORDS or _VERSION_WORD_RE.fullmatch(folded) is not None
    if gap == "." and ref.text[-1].isdigit():
        return True
    return _PIECE_RE.fullmatch(ref.text) is not None and ref.size_label is None


# Asked for each segment of a note that holds a spec, and vaults repeat lines: remember them.
@functools.lru_cache(maxsize=8192)
def text_pieces(text: str) -> frozenset[str]:
    """The case-folded word pieces of ``text``: every model name match starts at one of them."""
    return frozenset(map(str.lower, _PIECE_RE.findall(text)))  # ASCII pieces: lower() is casefold()


def names_matter(pieces: frozenset[str], extra: Mapping[str, str] | None) -> bool:
    """Whether ``find(text, extra)`` can differ from ``find(text)`` for a text of these ``pieces``."""
    return bool(spelled_names(pieces, extra))


def spelled_names(pieces: frozenset[str], extra: Mapping[str, str] | None) -> tuple[str, ...]:
    """The names of ``extra`` that ``find`` could match in a text of these ``pieces``, sorted.

    ``find`` matches a name by joining whole pieces of the text (and a dot between digits), so a name that
    cannot be spelled from the text's pieces never matches; and a name that never matches changes nothing,
    as its prefixes only let ``find`` read on where no preset name can end.  So ``find(text, extra)`` is
    ``find(text, {n: extra[n] for n in spelled_names(...)})``, and ``find(text)`` when there are none.
    """
    if not extra or _prefixes(extra).isdisjoint(pieces):  # no name can even start: the common case
        return ()
    return tuple(sorted(name for name in extra if _spelled(name, pieces)))


@functools.lru_cache(maxsize=8192)
def _spelled(name: str, pieces: frozenset[str]) -> bool:
    """Whether ``name`` is a run of ``pieces`` (repeats allowed), with dots between them where it has any."""
    reachable = [True] + [False] * len(name)
    for i in range(len(name)):
        if not reachable[i]:
            continue
        if name[i] == ".":
            reachable[i + 1] = True
            continue
        for k in range(i + 1, len(name) + 1):
            if name[i:k] in pieces:
                reachable[k] = True
    return reachable[-1]


@functools.lru_cache(maxsize=256)
def _prefix_set(names: frozenset[str]) -> frozenset[str]:
    return frozenset(name[:k] for name in names for k in range(1, len(name) + 1))


def _prefixes(extra: Mapping[str, str]) -> frozenset[str]:
    return _prefix_set(frozenset(extra))


@functools.cache
def preset_catalog() -> ModelCatalog:
    """The built-in presets as a catalog (built once per process)."""
    named = []
    for key, preset in presets().items():
        names = (key, preset.title, *preset.aliases)
        entry = ModelEntry(key, preset.title, MappingProxyType({"preset": key}), name_sizes(names))
        named.append((names, entry))
    return ModelCatalog(named, FAMILIES)
