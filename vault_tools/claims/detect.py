"""Find claim candidates in a note: explicit claims lines, arithmetic with a stated result, and parameter
counts stated next to a model reference.

Rules that keep numbers that are not claims out (each has a test in ``tests/data/claims/corpus.yaml``):

* an implicit claim needs a model reference on the same line (or row): a preset name or alias, a
  ``[[wikilink]]``, the note's own title/aliases when the note holds a spec, or, in a ``Name (…): count`` list
  item or a table's first cell, a model-like name (then the claim is ``unverified``);
* the count follows the reference in the same sentence (or cell/row), or precedes it with a parameter noun
  in between (``약 70억 개의 파라미터를 가진 LLaMA-7B``);
* the count carries a scale (``110M``, ``6.7B``, ``1.5 trillion``, ``67억``) or is a whole number of seven
  or more digits; ``K``/``thousand``/``만`` need a parameter noun; years, dates, versions, ``Q4_K_M``,
  ``top-2`` and the ``7B`` inside ``LLaMA-7B`` or ``8x7B`` never qualify;
* a count followed by a noun that is not parameters (tokens, context, vocabulary, GPUs, dollars, lines, %)
  or that is an operand of arithmetic is not a parameter claim;
* arithmetic needs a whole numeric expression with at least one operator, a relation (``=``, ``≈``, ``~``)
  and a single quantity after it.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Literal

from vault_tools.claims.arith import ArithmeticCandidate, find_annotation, find_arithmetic
from vault_tools.claims.grammar import ExplicitClaim, Op, parse_claim
from vault_tools.claims.models import ModelCatalog, ModelRef, spelled_names, text_pieces
from vault_tools.claims.numbers import Stated, find_quantities, parse_quantity
from vault_tools.claims.scan import Segment, SegmentKind, cell_spans, scan
from vault_tools.lazyre import lazy_compile
from vault_tools.records import record, replace

Measure = Literal["total", "active"]

_WIKILINK_RE = re.compile(r"\[\[([^\]|#]+)(?:#[^\]|]*)?(?:\\?\|[^\]]*)?\]\]")
_BOUNDARY_RE = re.compile(r"[.!?。](?:\s|$)|[;；]|\|")
_RUMOUR_WORDS = (
    r"rumou?r(?:ed|s)?|reportedly|allegedly|unconfirmed|speculat\w*|leaked|unofficial|소문|루머|비공식|카더라"
)
# A line that opens with a cross quotes a figure to refute it ("❌ LLaMA-13B: 6.7B"); in a table cell a
# cross means "no" and says nothing of the row's counts.
_REFUTED_RE = re.compile(
    r"^\s*(?:[-*+]\s+(?:\[.\]\s+)?|\d+[.)]\s+|#{1,6}\s+)?(?:\*\*|\()?\s*(?:❌|✗|✘)|(?:❌|✗|✘)\s*$"
)
# The first letters of those words, tested first: most positions of a line fail there at once (2.7 -> 1.4 us
# a search of a note's line).  Case-insensitive, as the words are, so "ſ" passes for "s" in both.
_RUMOUR_FIRST = "(?=[rausl소루비카])"
_RUMOUR_RE = re.compile(_RUMOUR_FIRST + f"(?:{_RUMOUR_WORDS})", re.IGNORECASE)
_NOT_PARAMS_RE = re.compile(
    r"^[\s-]*(?:(?:tokens?|words?|steps?|samples?|images?|examples?|pairs?|hours?|days?|gpus?|flops?|context"
    r"|ctx|vocab\w*|sequences?|seq|users?|downloads?|stars?|lines?|rows?|chars?|characters?|pages?|documents?"
    r"|dollars?|usd|won|compute|models?|variants?|versions?|sizes?|class|x|batch|web|times)(?![A-Za-z])"
    r"|[%×]|(?:(?:개|명)?\s?의\s?|(?:개|명)\s?)?(?:토큰|어휘|컨텍스트|달러|원|엔|줄|행|문서|단어|시간|모델|급|배치|페이지))",
    re.IGNORECASE,
)
# "the 13B", "a 7B model": a size class named, not a count stated.
# Between a model's name and a count, words that make it a part's count (or an add-on's): "LLaMA-7B's MLP
# holds 4.3B", "Llama 3 8B's embedding matrix has 525M", "LLaMA-7B with LoRA r=8 adds 4.2M".
_PART_RE = lazy_compile(
    r"(?<![A-Za-z])(?:embeddings?|MLPs?|FFNs?|attention|LoRA|QLoRA|adapters?|lm[_ ]head|임베딩|어텐션)"
    r"(?![A-Za-z])",
    re.IGNORECASE,
)
# After a count, words that make it a part's: "7.6B parameters (6.5B non-embedding)", "45.1B of which are in
# the experts", "685B including the MTP module".
_PART_AFTER_RE = lazy_compile(
    r"(?<![A-Za-z])(?:non[- ]?embedding"
    r"|(?:without|excluding|excl\.?|w/o)\s+(?:the\s+)?(?:input\s+)?embeddings?"
    r"|in\s+(?:the\s+)?experts?|(?:including|incl\.?)\s+(?:the\s+)?MTP|비임베딩|임베딩\s?(?:제외|빼고))",
    re.IGNORECASE,
)
# A count that is denied ("is not 56B but 46.7B", "not 7B", "56B가 아니라"), or one end of a range ("7–8B",
# "65B~66B", "between 6.5B and 7B"): no statement of the count.
_DENIED_BEFORE_RE = lazy_compile(
    r"(?:\bnot|n't)(?:\s+(?:have|has|had|contain|count|use))?\s*$|(?:\binstead of|\brather than)\s*$",
    re.IGNORECASE,
)
_DENIED_AFTER_RE = lazy_compile(r"^\s*(?:이|가)?\s*아니")
# A range joins its two ends without spaces ("7–8B", "6.5-7B", "65B~66B") or says "between … and …" or
# "from … to …"; a spaced dash separates ("LLaMA-7B – 9.1B", "9.1B - 32 layers", "Feb 2023 - 9.1B").
_RANGE_BEFORE_RE = lazy_compile(
    r"(?:(?<![\w.-])\d+(?:\.\d+)?(?:[KMBT]|\s?(?:billion|million))?[–~∼-]"
    r"|\bbetween\s+\S+\s+and\s+|\bfrom\s+\S+\s+to\s+)$",
    re.IGNORECASE,
)
_RANGE_AFTER_RE = lazy_compile(r"^(?:[–~∼-][~≈]?\d|\s+and\s+\S*\d)", re.IGNORECASE)
_RANGE_OPENERS_RE = lazy_compile(r"\b(?:between|from)\s+$", re.IGNORECASE)
_ARTICLE_RE = re.compile(r"(?:^|\s)(?:the|a|an|this|that|these|those)$", re.IGNORECASE)
# "LLaMA-7B and 13B", "LLaMA-7B, 13B, 65B": sibling sizes listed after a name are names, not counts.
_SIBLING_RE = re.compile(r"^\s*(?:,|/|&|and|or|vs\.?|versus|→|->|=>|및|와|과|또는|이나)\s*$", re.IGNORECASE)
# Counts set against each other: "(8.0B vs 6.7B)" after two models compared in the same sentence.
_VERSUS_RE = lazy_compile(r"^\s*(?:vs\.?|versus|→|->|=>)\s*$", re.IGNORECASE)
# Right before a count, a name the catalog does not know with a version number of its own: the count is
# that model's size ("outperforms Llama 2 13B … and Llama 1 34B", "Gemma 3 27B"), not a count of the model
# named before.  A capitalised word alone is as often "Total", "Overall" or "FP16" as a name: no name.
_UNKNOWN_NAME_RE = lazy_compile(r"(?<![\w.-])[A-Z][A-Za-z]+[ -]v?\d{1,2}(?:\.\d+)?[ -]$")
# Korean machine translations render "parameters" as 참여자/참가자 ("participants"); the seed article does.
_PARAM_NOUN = r"(?:params?|parameters?|파라미터|매개\s?변수|참여자|참가자)"
_PARAM_AFTER_RE = re.compile(rf"^[\s-]*(?:개|명)?\s*(?:의\s*)?{_PARAM_NOUN}", re.IGNORECASE)
_ACTIVE_RE = re.compile(
    r"\bactive\b|\bactivate[sd]?\b|per[- ]token|\b(?:each|every)\s+token\b|\bforward\s+pass\b|활성|토큰\s?당"
    r"|만\s?사용|실제로?\s?(?:쓰이|사용)|\bcompute\s+(?:for|of|like)\b",
    re.IGNORECASE,
)
# What ends the words that qualify a count besides its clause: a conjunction opens the next count's ("46.7B
# total and 12.9B active"), "out of" the whole it is a part of ("13B per token out of 47B").
_QUALIFIER_END_RE = lazy_compile(
    r"\b(?:and|but|while|whereas|with|out\s+of)\b|그리고|하지만|지만|인데", re.IGNORECASE
)
# Between two counts, "of": the first is a part of the second ("12.9B of its 46.7B parameters are active").
_PART_OF_RE = lazy_compile(r"^\s*(?:out\s+)?of\s+(?:its\s+|the\s+|their\s+)?(?:total\s+)?$", re.IGNORECASE)
# After a count, a few words and "out of"/"of": this count is the whole ("39B active parameters out of 141B").
_WHOLE_RE = lazy_compile(
    r"^\s*(?:[\w-]+\s+){0,3}?(?:out\s+of|of)\s+(?:its\s+|the\s+|their\s+)?(?:total\s+)?$", re.IGNORECASE
)
# A count followed by "of its 46.7B": a part of the model's count ("In Mixtral 8x7B, 12.9B of its 46.7B
# parameters are active"), not a sibling size listed after the name.
_OF_WHOLE_AFTER_RE = lazy_compile(
    r"\s+(?:out\s+)?of\s+(?:its|the|their)\s+(?:total\s+)?[~≈]?\d", re.IGNORECASE
)
# Korean "out of": "46.7B 파라미터 중 12.9B" (12.9B of the 46.7B).
_KOREAN_PART_RE = lazy_compile(r"중\s*$")
_EXACT_RE = lazy_compile(r"\b(?:exactly|precisely)\s*$|정확히\s*$", re.IGNORECASE)
_NEXT_COUNT_RE = lazy_compile(r"\d")
_TOTAL_RE = re.compile(r"\btotal\b|총|전체", re.IGNORECASE)
# Bound words before a count, in the order they are tried (">=" before ">").
_ENGLISH_BOUNDS: tuple[tuple[re.Pattern[str], Op], ...] = (
    (re.compile(r"(?:\bat least|≥|>=)\s*$", re.IGNORECASE), "≥"),
    (re.compile(r"(?:\bat most|≤|<=)\s*$", re.IGNORECASE), "≤"),
    (re.compile(r"(?:\bover|\bmore than|\babove|>)\s*$", re.IGNORECASE), ">"),
    (re.compile(r"(?:\bunder|\bless than|\bbelow|<)\s*$", re.IGNORECASE), "<"),
)
_KOREAN_BOUND_RE = re.compile(r"^\s*(?:의\s*)?(?:파라미터\s*)?(이상|초과|이하|미만)")
_KOREAN_BOUNDS: dict[str, Op] = {"이상": "≥", "초과": ">", "이하": "≤", "미만": "<"}
_OPERATOR_CHARS = frozenset("*×·/÷+^=≈")
# A model-like name heading a list item or a table row: "GPT-4 (2023): ~1.7T".
_LIST_NAME_RE = re.compile(
    r"^\s*(?:[-*+]\s+|\d+[.)]\s+)?(?:\*\*)?(?P<name>[A-Z][^\s:()*]*(?: [^\s:()*]+){0,4}?)(?:\*\*)?\s*"
    r"(?:\([^)]*\))?\s*(?:\*\*)?[:：]"
)
_NOT_A_MODEL_RE = re.compile(
    r"^(?:step|phase|stage|part|chapter|figure|fig|table|section|version|round|day|week|epoch|layer|option"
    r"|case|example|level|tier|q[1-4]|rule|note|item|top|v\d)\b",
    re.IGNORECASE,
)
_HANGUL_RE = lazy_compile(r"[가-힣]")
# Where the words qualifying a count end: a comma, semicolon, parenthesis or a spaced dash.
_CLAUSE_END_RE = lazy_compile(r"[,;()]|\s[-–—]\s")
_SEARCH_WINDOW = 60  # characters between a model reference and the count it states


@record
class ExplicitCandidate:
    """A claims line (block or frontmatter), parsed, or the reason it does not parse."""

    line: int
    text: str
    claim: ExplicitClaim | None
    error: str | None = None  # why the line does not parse


@record
class ImplicitCandidate:
    """A parameter count stated for a model reference, with what it counts and how it compares."""

    line: int
    text: str
    ref: ModelRef
    stated: Stated
    measure: Measure = "total"
    op: Op = "="
    rumour: bool = False
    exact: bool = False  # "exactly 68B": rounding only, not a figure a model card truncated
    # The sentence's subject, when ``ref`` is the model it compares that with ("Mistral 7B beats LLaMA-13B
    # with 7.2B"): the count may be either's.
    compared_with: ModelRef | None = None

    @property
    def size_label(self) -> bool:
        """The count restates the size in the model's name, digit for digit (``Llama 3.1 405B: 405B``)."""
        label = self.ref.size_label
        return (
            label is not None
            and self.measure == "total"
            and label[0] == self.stated.mantissa
            and label[1] == self.stated.value
        )


Candidate = ExplicitCandidate | ImplicitCandidate | ArithmeticCandidate


def find_claims(
    text: str,
    *,
    body_start_line: int = 1,
    catalog: ModelCatalog,
    note_names: Mapping[str, str] | None = None,
    frontmatter_claims: Sequence[tuple[int, str]] = (),
) -> list[Candidate]:
    """Every claim candidate of a note, in line order.

    ``note_names`` maps normalised names (the note's title and aliases, when the note holds a spec) to the
    title; ``frontmatter_claims`` are ``(line, claim)`` pairs from the frontmatter ``claims:`` list.
    """
    out: list[Candidate] = [_explicit(line, claim) for line, claim in frontmatter_claims]
    segments, _fences = scan(text, body_start_line)
    for segment in segments:
        out += find_in_segment(segment, catalog, note_names)
    return out


def find_in_segment(
    segment: Segment, catalog: ModelCatalog, note_names: Mapping[str, str] | None = None
) -> list[Candidate]:
    """The claim candidates of one segment."""
    found, _plain = segment_candidates(segment_key(segment), catalog, note_names)
    return [replace(candidate, line=segment.line) for candidate in found]


SegmentKey = tuple[SegmentKind, str, str, tuple[tuple[int, int], ...], tuple[str, ...]]


def segment_key(segment: Segment) -> SegmentKey:
    """Everything about a segment detection reads: all of it but its line."""
    return (segment.kind, segment.text, segment.code, segment.cells, segment.header)


def segment_candidates(
    key: SegmentKey, catalog: ModelCatalog, note_names: Mapping[str, str] | None = None
) -> tuple[tuple[Candidate, ...], bool]:
    """The claim candidates of the segment ``key`` describes, at line 0 (the caller knows the line).

    The flag says whether they are the segment's plain candidates, the same in every note.
    """
    # Detection reads nothing but the segment's own text and the names it may refer to, and vaults repeat
    # lines (templates, boilerplate, copied tables): detect each distinct segment once per process.
    found = _detect_plain(key, catalog)
    if not note_names:  # a note without a spec of its own: its names play no part
        return found, True
    spelled = spelled_names(text_pieces(key[1]), note_names)
    if not spelled:
        return found, True
    # Detected with each name standing for itself: the same for every note that names the same words;
    # then each reference to the note gets the note's own title.
    return tuple(_titled(candidate, note_names) for candidate in _detect_named(key, catalog, spelled)), False


@functools.lru_cache(maxsize=8192)
def _detect_plain(key: SegmentKey, catalog: ModelCatalog) -> tuple[Candidate, ...]:
    """The candidates of a segment (at line 0) read without the note's own names."""
    return tuple(_find_in_segment(Segment(0, *key), catalog, None))


@functools.lru_cache(maxsize=1024)
def _detect_named(key: SegmentKey, catalog: ModelCatalog, names: tuple[str, ...]) -> tuple[Candidate, ...]:
    """The candidates of a segment (at line 0) with ``names`` as the note's own, each its own title."""
    return tuple(_find_in_segment(Segment(0, *key), catalog, {name: name for name in names}))


def _titled(candidate: Candidate, note_names: Mapping[str, str]) -> Candidate:
    """``candidate`` with its references to the note named by the title ``note_names`` gives."""
    if not isinstance(candidate, ImplicitCandidate):
        return candidate
    subject = candidate.compared_with
    if subject is not None and subject.source == "note":
        candidate = replace(candidate, compared_with=replace(subject, name=note_names[subject.name]))
    if candidate.ref.source != "note":
        return candidate
    return replace(candidate, ref=replace(candidate.ref, name=note_names[candidate.ref.name]))


def _find_in_segment(
    segment: Segment, catalog: ModelCatalog, note_names: Mapping[str, str] | None
) -> list[Candidate]:
    if segment.kind == "claims":
        return [_explicit(segment.line, segment.text)]
    segment = _unemphasized(segment)
    text = segment.text
    arithmetic = find_arithmetic(segment.line, text)
    consumed = [(start, end) for start, end, _ in arithmetic]
    found: list[Candidate] = [candidate for _, _, candidate in arithmetic]
    refs = _refs(text, catalog, note_names, allow_unknown=segment.kind != "row")
    if segment.kind == "row":
        found += _row_claims(segment, refs, consumed)
    elif refs:
        found += _implicit(segment.line, text, refs, consumed, (0, len(text)))
    # Rumour words are looked for only where there is a claim for them to mark: most lines have none.
    if found and (_RUMOUR_RE.search(text) or (segment.kind == "prose" and _REFUTED_RE.search(text))):
        found = [replace(candidate, rumour=True) for candidate in found]
    if segment.kind == "comment":  # a code comment's annotation is never marked as rumour
        annotation = find_annotation(segment)
        if annotation is not None:
            found.insert(len(arithmetic), annotation)
    return found


# Markdown emphasis around a figure or a name ("**6.7B**", "*7B*", "__13B__", Obsidian's "==6.7B=="
# highlight): detection reads the text without its delimiters, as a reader does.  A delimiter counts only
# where it can open or close emphasis: a non-space on its inner side; on its outer side no ASCII letter or
# digit, no delimiter, and no parenthesis facing it.  So "2**10" (a power), "n*8", "7B * 2", "(7e9)*2*(1.2)"
# and "dtype_bytes" keep theirs, while Korean particles may follow ("**7.5B**입니다"), as CommonMark allows
# for "*" (an underscore inside a word never emphasises).
# One pattern a delimiter: each starts with its character, which ``re`` then finds at C speed.
_STAR_RE = lazy_compile(r"(?<![A-Za-z0-9*)\]])(\*{1,3})(?=[^\s*])(.+?)(?<=[^\s*])\1(?![A-Za-z0-9*(\[])")
_UNDERSCORE_RE = lazy_compile(r"(?<![\w_])(__|_)(?=[^\s_])(.+?)(?<=[^\s_])\1(?![\w_])")
_HIGHLIGHT_RE = lazy_compile(r"(?<![A-Za-z0-9=])==(?=[^\s=])(.+?)(?<=[^\s=])==(?![A-Za-z0-9=])")


# Where a delimiter could open emphasis: a quick test first, as most "*" and "_" are operators and names.
_OPENER_RE = lazy_compile(
    r"(?<![A-Za-z0-9*)\]])\*{1,3}(?=[^\s*])|(?<![\w_])_{1,2}(?=[^\s_])|(?<![A-Za-z0-9=])==(?=[^\s=])"
)


def unemphasized(text: str) -> str:
    """``text`` without Markdown emphasis delimiters (nested ones too); the same object when it has none."""
    if "*" not in text and "_" not in text and "==" not in text:
        return text
    for _ in range(3):  # "**_6.7B_**": one layer a round
        if _OPENER_RE().search(text) is None:
            break
        plain = text
        if "*" in plain:
            plain = _STAR_RE().sub(r"\2", plain)
        if "_" in plain:
            plain = _UNDERSCORE_RE().sub(r"\2", plain)
        if "==" in plain:
            plain = _HIGHLIGHT_RE().sub(r"\1", plain)
        if plain == text:
            break
        text = plain
    return text


def _unemphasized(segment: Segment) -> Segment:
    """``segment`` read without emphasis; a row's cells are found again in its plain text."""
    text = unemphasized(segment.text)
    header = tuple(map(unemphasized, segment.header)) if segment.header else ()
    if text is segment.text and header == segment.header:
        return segment
    cells = tuple(cell_spans(text)) if segment.kind == "row" else segment.cells
    return Segment(segment.line, segment.kind, text, segment.code, cells, header)


def _explicit(line: int, text: str) -> ExplicitCandidate:
    try:
        return ExplicitCandidate(line, text.strip(), parse_claim(text))
    except ValueError as exc:
        return ExplicitCandidate(line, text.strip(), None, str(exc))


# --- model references ---------------------------------------------------------------------------------


def _refs(
    text: str, catalog: ModelCatalog, note_names: Mapping[str, str] | None, *, allow_unknown: bool
) -> list[ModelRef]:
    links = [
        ModelRef(m.group(0), m.start(), m.end(), "wikilink", m.group(1).strip())
        for m in _WIKILINK_RE.finditer(text)
    ]
    refs = list(links)
    for ref in catalog.find(text, note_names):
        if not any(link.start <= ref.start < link.end for link in links):
            refs.append(ref)
    if allow_unknown:
        named = _LIST_NAME_RE.match(text)
        if named is not None and _model_like(named["name"]):
            start, end = named.span("name")
            if not any(r.start < end and start < r.end for r in refs):
                refs.append(ModelRef(named["name"], start, end, "unknown", named["name"]))
    return sorted(refs, key=lambda r: r.start)


def _model_like(name: str) -> bool:
    """A name that reads as a model: capitalised, with a digit, short, no Korean, not "Step 2"."""
    return (
        len(name) <= 40
        and any(map(str.isdigit, name))
        and not _HANGUL_RE().search(name)
        and not _NOT_A_MODEL_RE.match(name)
    )


# --- implicit parameter claims ------------------------------------------------------------------------


def _eligible(text: str, start: int, end: int, stated: Stated, *, one_model: bool = True) -> bool:
    """A count that can be a parameter claim (see the module docstring).

    ``one_model``: its sentence names one model at most before the count, so a slash may pair its total
    and active counts ("Mixtral 8x22B vs Mixtral 8x7B: 39B / 12.9B active" lists two models' active counts).
    """
    value = stated.value  # a Fraction, whose denominator is positive: compared at integer speed
    if stated.kind != "count" or value.numerator < 10**4 * value.denominator:
        return False
    if "flop" in stated.suffix.lower():  # "3.14e23 FLOPs": compute, not parameters
        return False
    if not stated.scaled and not (len(stated.mantissa) >= 7 or (stated.grouped and stated.value >= 10**6)):
        return False
    after = text[end:]
    if _NOT_PARAMS_RE.match(after):
        return False
    if stated.suffix.strip() in ("K", "k", "thousand", "만") and not _PARAM_AFTER_RE.match(after):
        return False
    before = text[:start].rstrip()
    if _ARTICLE_RE.search(before) and not _PARAM_AFTER_RE.match(after):
        return False  # "the 13B", "a 7B model": a size class named, not a count stated
    if _DENIED_BEFORE_RE().search(before) or _DENIED_AFTER_RE().match(after):
        return False
    if "~~" in before and before.count("~~") % 2:
        return False  # struck through: "~~LLaMA-13B has 6.7B~~"
    if _RANGE_BEFORE_RE().search(text, 0, start):
        return False
    if _RANGE_AFTER_RE().match(after) and (
        not after[:1].isspace() or _RANGE_OPENERS_RE().search(before + " ")
    ):
        return False
    if stated.text[:1] in "~∼" and start and (text[start - 1].isdigit() or text[start - 1] in "KMBT"):
        return False  # "65B~66B": the "~" joins a range
    following = after.lstrip()
    # An operand of arithmetic ("7B * 2바이트") is not a statement about a model.  A slash between a total
    # and an active count ("671B / 37B active", "46.7B total / 12.9B active") pairs them instead.
    return not (
        before
        and before[-1] in _OPERATOR_CHARS
        and not (one_model and _paired_active(before, after, stated, False))
    ) and not (
        following
        and following[0] in _OPERATOR_CHARS
        and not (one_model and _paired_active(before, following, stated, True))
    )


# "/ 37B active" after a total, and the total before a slash that leads to the count.
_SLASH_COUNT = r"\d[\d.,]*\s?(?:[KMBT]|억|조)"
_ACTIVE_WORDS_AFTER = r"(?:\s?개)?\s*(?:(?:params?|parameters?)\s+)?(?:active|activated|활성)"
_SLASH_ACTIVE_RE = lazy_compile(
    rf"/\s*(?P<count>(?:~|≈|약\s?)?{_SLASH_COUNT}){_ACTIVE_WORDS_AFTER}", re.IGNORECASE
)
_ACTIVE_AFTER_RE = lazy_compile(_ACTIVE_WORDS_AFTER, re.IGNORECASE)
_TOTAL_BEFORE_RE = lazy_compile(
    rf"(?P<count>{_SLASH_COUNT})(?:\s?개)?\s*(?:(?:params?|parameters?|total|전체)\s*)?/$", re.IGNORECASE
)


def _paired_active(before: str, after: str, stated: Stated, total: bool) -> bool:
    """Whether the slash next to a count pairs a total with an active count no larger: ``after`` starts with
    the slash (``total``: the count is the total) or ``before`` ends in one after the total.

    Anything else with a slash ("12.9B / 39B active" of two models, "37B / 671B active fraction") stays
    arithmetic, as before.
    """
    if total:
        pair = _SLASH_ACTIVE_RE().match(after)
        return pair is not None and _smaller(pair["count"], stated.value)
    if _ACTIVE_AFTER_RE().match(after) is None:
        return False
    pair = _TOTAL_BEFORE_RE().search(before)
    return pair is not None and _smaller(stated.text, _value(pair["count"]))


def _value(quantity: str) -> Fraction:
    return parse_quantity(quantity.lstrip("~≈약 ")).value


def _smaller(active: str, total: Fraction) -> bool:
    try:
        return _value(active) <= total  # (a dense model's "7.24B / 7.24B active")
    except ValueError:
        return False


def _implicit(
    line: int,
    text: str,
    refs: Sequence[ModelRef],
    consumed: Sequence[tuple[int, int]],
    window: tuple[int, int],
) -> list[Candidate]:
    out: list[Candidate] = []
    lo, hi = window
    quantities = []
    last_end = lo  # where the previous count ends: the models named after it are the next count's
    one_model = True  # whether the previous count had one model before it (the total of a slash pair)
    for s, e, q in find_quantities(text[:hi], scaled_only=True):
        if s < lo or any(r.start <= s < r.end for r in refs) or any(a <= s < b for a, b in consumed):
            continue
        # The active count after a slash goes with the total's models: "A vs B: 39B / 12.9B active".
        # (Only a slash next to a count asks: most counts have none.)
        if "/" in text[max(s - 8, 0) : e + 8]:
            slash_between = "/" in text[last_end:s]
            one_model = _one_model_before(text, refs, s, last_end) and (one_model or not slash_between)
        else:
            one_model = True
        if _eligible(text, s, e, q, one_model=one_model):
            quantities.append((s, e, q))
        last_end = e
    previous_end = lo
    comparing = len(refs) > 1 and _COMPARING_RE().search(text) is not None  # (see ``_comparison``)
    chain: tuple[ModelRef, int] | None = None  # the ref whose sibling sizes are being listed, and where
    paired = _respectively(text, refs, quantities, lo)
    for number, (start, end, stated) in enumerate(quantities):
        ref = _ref_before(text, refs, start, lo)
        # "Mistral 7B beats LLaMA-13B with 7.2B": the nearest model is the one the sentence compares its
        # subject with, so the count may be either's (see ``_comparison``).
        subject = None
        if ref is not None and number not in paired and comparing:
            subject = _comparison(text, refs, ref, start, lo)
        if number in paired:
            # None: a count of a listed model the catalog does not name, or of a list that does not pair.
            ref = paired[number]
            if ref is None:
                previous_end = end
                continue
        clause = _clause_after(text, end)  # the words that qualify the count, read once for both uses
        if (ref is not None and _PART_RE().search(text, ref.end, start)) or _PART_AFTER_RE().search(clause):
            previous_end = end  # "LLaMA-7B's MLP holds 4.3B", "6.5B non-embedding": a part's count
            continue
        if (
            ref is not None
            and number not in paired
            and _unknown_name_before(text, max(ref.end, previous_end), start)
        ):
            previous_end = end
            continue
        if ref is not None:
            since = chain[1] if chain is not None and chain[0] is ref else ref.end
            if (
                _SIBLING_RE.match(text[since:start])
                and not _PARAM_AFTER_RE.match(text[end:])
                and not _OF_WHOLE_AFTER_RE().match(text, end)
            ):
                chain, previous_end = (ref, end), end
                continue
            claim_text = text[ref.start : end]
            floor = max(ref.end, previous_end)
        else:
            ref = _ref_after(text, refs, end)
            if ref is None:
                previous_end = end
                continue
            claim_text = text[start : ref.end]
            floor = max(lo, previous_end)
        after_count = floor == previous_end and previous_end > lo
        measure, op, stated, exact = _qualifiers(
            text, start, end, floor, stated, clause, after_count=after_count
        )
        label = _label_before(text, max(floor, start - 48), start)
        if label is not None:
            # "Tokens: 1T", "Training tokens: 1.0T": a count of something else, labelled; "Active: 12.9B",
            # "active parameters: 12.9B": the active count, labelled.
            if _NOT_PARAMS_LABEL_RE().search(label["label"]):
                previous_end = end
                continue
            if measure == "total" and _ACTIVE_LABEL_RE().search(label["label"]):
                measure = "active"
        if measure is not None:
            out.append(
                ImplicitCandidate(
                    line,
                    claim_text.strip(),
                    ref,
                    stated,
                    measure,
                    op,
                    exact=exact,
                    compared_with=subject,
                )
            )
        previous_end = end
    return out


# A label right before a count, ending in a colon: "**Tokens:** 1T" (read without its emphasis).
_LABEL_BEFORE_RE = lazy_compile(r"(?P<label>[^\W\d_][\w -]{0,40}?)\s*$")


def _label_before(text: str, lo: int, start: int) -> re.Match[str] | None:
    """The label ending in a colon right before the count at ``start`` (searched from ``lo``), if any."""
    colon = max(text.rfind(":", lo, start), text.rfind("：", lo, start))
    if colon < 0 or text[colon + 1 : start].strip():
        return None
    return _LABEL_BEFORE_RE().search(text, lo, colon)


_NOT_PARAMS_LABEL_RE = lazy_compile(
    r"(?<![A-Za-z])(?:tokens?|data(?:set)?|context|vocab\w*|steps?|batch|sequences?|seq)(?![A-Za-z])"
    r"|토큰|데이터|컨텍스트|어휘",
    re.IGNORECASE,
)
_ACTIVE_LABEL_RE = lazy_compile(r"(?<![A-Za-z])(?:active|activated)(?![A-Za-z])|활성", re.IGNORECASE)


def _one_model_before(text: str, refs: Sequence[ModelRef], start: int, lo: int) -> bool:
    """Whether at most one model is named from ``lo`` (the previous count's end) to ``start`` in its sentence
    (and the text says no "respectively")."""
    names = {r.name for r in _sentence_refs_before(text, refs, start, lo)}
    return len(names) <= 1 and "respectively" not in text


def _sentence_refs_before(text: str, refs: Sequence[ModelRef], at: int, lo: int) -> list[ModelRef]:
    """The models named from ``lo`` up to ``at`` with no sentence boundary between them and ``at``."""
    return [r for r in refs if lo <= r.start and r.end <= at and not _BOUNDARY_RE.search(text, r.end, at)]


def _unknown_name_before(text: str, floor: int, start: int) -> bool:
    """Whether the count at ``start`` follows a capitalised name the catalog does not know (see
    ``_UNKNOWN_NAME_RE``) after ``floor``."""
    return _UNKNOWN_NAME_RE().search(text, floor, start) is not None


def _respectively(
    text: str, refs: Sequence[ModelRef], quantities: Sequence[tuple[int, int, Stated]], lo: int
) -> dict[int, ModelRef | None]:
    """Counts listed after models listed ("LLaMA-7B, LLaMA-13B and LLaMA-65B have 6.7B, 13B and 65B"): the
    i-th count is the i-th model's.  By index of ``quantities``: the model to judge it against, or None for
    no claim (a listed sibling size such as the "13B" of "LLaMA-7B, 13B and 65B", which names no preset
    here, or lists of different lengths, which say nothing certain).  A count list after one model
    ("Mixtral 8x7B: 46.7B, 12.9B active") is no such list and is not in the result.
    """
    out: dict[int, ModelRef | None] = {}
    if len(quantities) < 2:  # most segments: nothing to pair
        return out
    spans = [(s, e) for s, e, _q in quantities]
    siblings: set[int] = set()
    for ref in refs:  # sizes listed right after a model name are names ("LLaMA-7B, 13B and 65B")
        since = ref.end
        for k, (s, e) in enumerate(spans):
            if s < since:
                continue
            if not _SIBLING_RE.match(text[since:s]):
                break
            siblings.add(k)
            since = e
    k = 0
    while k < len(spans):
        run = [k]
        while (
            run[-1] + 1 < len(spans)
            and run[-1] + 1 not in siblings
            and _SIBLING_RE.match(text[spans[run[-1]][1] : spans[run[-1] + 1][0]])
        ):
            run.append(run[-1] + 1)
        k = run[-1] + 1
        if len(run) < 2 or run[0] in siblings:
            continue
        last = _ref_before(text, refs, spans[run[0]][0], lo)
        if last is None:
            continue
        listed = [last]  # the models named before it, joined to it by list words
        before = [r for r in refs if r.end <= last.start]
        while before and _SIBLING_RE.match(text[before[-1].end : listed[0].start]):
            listed.insert(0, before.pop())
        sizes = [None for j in sorted(siblings) if last.end <= spans[j][0] < spans[run[0]][0]]
        members: list[ModelRef | None] = [*listed, *sizes]
        if len(members) < len(run) and all(
            _VERSUS_RE().match(text[spans[a][1] : spans[b][0]]) for a, b in itertools.pairwise(run)
        ):
            # "Llama 3 8B is larger than Llama 2 7B (8.0B vs 6.7B)": the models compared in the sentence.
            compared = [
                r for r in refs if r.end <= last.end and not _BOUNDARY_RE.search(text, r.end, last.start)
            ]
            members = [*compared[-len(run) :]] if len(compared) >= len(run) else members
        if len(members) < 2:
            continue
        for j, member in zip(run, members if len(members) == len(run) else [None] * len(run), strict=True):
            out[j] = member
    return out


def _ref_before(text: str, refs: Sequence[ModelRef], start: int, lo: int) -> ModelRef | None:
    before = [r for r in refs if lo <= r.start and r.end <= start]
    if not before:
        return None
    ref = before[-1]
    gap = text[ref.end : start]
    if len(gap) > _SEARCH_WINDOW or _BOUNDARY_RE.search(gap):
        return None
    return ref


# Words that make the model after them (or, in Korean, before them) the one a sentence compares its subject
# with: "beats LLaMA-13B", "unlike LLaMA-13B", "distilled from BERT-base", "LLaMA-13B보다".  "vs" is no such
# word: "A vs B: 6.7B" does not say whose count it is, and stays with the nearer name as before.
_COMPARED_BEFORE_RE = lazy_compile(
    r"(?<![A-Za-z])(?:beat(?:s|ing)?|outperform(?:s|ed|ing)?|surpass(?:es|ed|ing)?|match(?:es|ed|ing)?"
    r"|rival(?:s|led|ing)?|than|unlike|like|against|compared\s+(?:to|with)|comparable\s+to|on\s+par\s+with"
    r"|competitive\s+with|exceed(?:s|ed|ing)?|improv(?:es|ed|ing)?\s+(?:up)?on|improv(?:es|ed|ing)?\s+over"
    r"|(?:distilled|derived|fine-?tuned|trained|initiali[sz]ed)\s+from|based\s+on)\s+(?:the\s+)?$",
    re.IGNORECASE,
)
_COMPARED_AFTER_RE = lazy_compile(r"\s?(?:보다|대비|에\s?비해|와\s?달리|과\s?달리)")
# Any of those words in a text: only then is a count's model looked at as a compared one.
_COMPARING_RE = lazy_compile(
    r"beat|outperform|surpass|match|rival|than|like|against|compar|par\s+with|competitive|exceed|improv|from"
    r"|based|보다|대비|비해|달리",
    re.IGNORECASE,
)
# Between the compared model and the count, words that give the count back to it: "…than LLaMA-7B, which
# has 6.7B", "LLaMA-13B's 7.2B", "LLaMA-13B, a model with 7.2B", "the latter needs 7.2B", "후자는 7.2B".
_REANCHOR_RE = lazy_compile(
    r"^['’]s|(?<![A-Za-z])(?:which|whose|the\s+latter|an?\s+(?:\w+\s+)?model)(?![A-Za-z])|후자|그\s?모델",
    re.IGNORECASE,
)


def _comparison(text: str, refs: Sequence[ModelRef], ref: ModelRef, start: int, lo: int) -> ModelRef | None:
    """The sentence's subject when ``ref``, the nearest model before the count at ``start``, is one the
    sentence compares it with; None when it is not.

    It is compared when a comparison word stands next to it, another known model stands before it in the
    sentence, and nothing between it and the count gives the count back to it.  The count may then be
    either model's: ``_Resolver._compared`` accepts it for the compared model only, and calls it
    unverified rather than wrong otherwise, as the words do not say whose it is.  (Telling the subject's
    count from cues such as "with only" was tried: clauses about either model use the same words.)
    """
    gap = text[ref.end : start]
    if not gap.strip(" \t,:;-–—([*") or _REANCHOR_RE().search(gap):
        return None
    if (
        _COMPARED_BEFORE_RE().search(text, max(0, ref.start - 40), ref.start) is None
        and _COMPARED_AFTER_RE().match(text, ref.end) is None
    ):
        return None
    before = [r for r in _sentence_refs_before(text, refs, ref.start, lo) if r.name != ref.name]
    return before[-1] if before else None


def _ref_after(text: str, refs: Sequence[ModelRef], end: int) -> ModelRef | None:
    if not _PARAM_AFTER_RE.match(text[end:]):
        return None
    after = [r for r in refs if r.start >= end]
    if not after:
        return None
    ref = after[0]
    gap = text[end : ref.start]
    if len(gap) > 30 or _BOUNDARY_RE.search(gap):
        return None
    return ref


def _clause_after(text: str, end: int) -> str:
    """The words after a count that qualify it: up to the end of its clause or the next count."""
    after = _CLAUSE_END_RE().split(text[end : end + 60], maxsplit=1)[0]
    return _NEXT_COUNT_RE().split(after, maxsplit=1)[0]


def _qualifiers(
    text: str, start: int, end: int, floor: int, stated: Stated, clause: str, *, after_count: bool = False
) -> tuple[Measure | None, Op, Stated, bool]:
    """Total or active (None: a part of a count stated next, with nothing saying which), the comparison,
    the count with its bound words ("over 400B", "70억 개 이상"), and whether it is stated exactly.

    ``clause``: ``_clause_after(text, end)``.  ``after_count``: ``floor`` is the end of the count before
    this one in the same sentence.
    """
    # What follows a count qualifies it up to the next count: in "46.7B total and 12.9B active" the
    # "active" is the second count's.
    after = _QUALIFIER_END_RE().split(clause, maxsplit=1)[0]
    active_after = _ACTIVE_RE.search(after)
    next_count = text[end + len(clause) : end + len(clause) + 1].isdigit()
    if (
        active_after is not None
        and next_count
        and after == clause  # (a conjunction or "out of" between them keeps it this count's)
        and len(clause) - active_after.end() < active_after.start()
    ):
        # Nearer the next count than this one: its word ("총 467억 개 … 토큰당 129억 개", "46.7B parameters
        # yet each token sees only 12.9B"), as Korean puts it before the count it qualifies.
        active_after = None
    raw_before = text[floor:start]
    before = raw_before[max(raw_before.rfind(","), raw_before.rfind("("), raw_before.rfind(":")) + 1 :]
    measure: Measure | None = "total"
    if after_count and _WHOLE_RE().match(raw_before):
        pass  # "39B active out of 141B", "12.9B of its 46.7B": the whole, whatever the sentence says
    elif after_count and _KOREAN_PART_RE().search(raw_before):
        # "46.7B 파라미터 중 12.9B를 사용한다": a part of the count before, active when the sentence says so.
        measure = "active" if _ACTIVE_RE.search(clause) or "사용" in clause else None
    elif _PART_OF_RE().match(clause) and next_count:
        # "12.9B of its 46.7B parameters are active": a part, active when the sentence says so.
        rest = _CLAUSE_END_RE().split(text[end + len(clause) :], maxsplit=1)[0]
        measure = "active" if _ACTIVE_RE.search(rest) or _ACTIVE_RE.search(before) else None
    elif active_after is not None or (not _TOTAL_RE.search(after) and _ACTIVE_RE.search(before)):
        measure = "active"
    exact = _EXACT_RE().search(before) is not None
    op: Op = "≈" if stated.approximate else "="
    korean = _KOREAN_BOUND_RE.match(text[end:])
    if korean is not None:
        word = korean.group(1)
        return measure, _KOREAN_BOUNDS[word], replace(stated, text=f"{stated.text} {word}"), exact
    if text[end : end + 1] == "+":
        return measure, "≥", replace(stated, text=f"{stated.text}+"), exact
    for pattern, bound in _ENGLISH_BOUNDS:
        match = pattern.search(before)
        if match is not None:
            return measure, bound, replace(stated, text=f"{match.group(0).strip()} {stated.text}"), exact
    return measure, op, stated, exact


# --- tables -------------------------------------------------------------------------------------------

_HEADER_PARAM_RE = re.compile(r"param|파라미터|매개", re.IGNORECASE)
_HEADER_SKIP_RE = re.compile(
    r"token|data|flop|context|ctx|seq|vocab|year|date|release|memory|vram|gpu|layer|head|dim|hidden|batch|step"
    r"|cost|price|\bgi?b\b|연도|날짜|토큰|메모리",
    re.IGNORECASE,
)
_HEADER_ACTIVE_RE = lazy_compile(r"active|활성", re.IGNORECASE)
# A column that counts a part of the model or what a fine-tune trains, not the model.
_PART_COLUMN_RE = lazy_compile(r"trainable|\bexperts?\b|학습\s?가능", re.IGNORECASE)
# …unless the header says it holds the whole: "Total params (all experts)", "Params (incl. attention)".
_WHOLE_COLUMN_RE = lazy_compile(
    r"\b(?:all|incl\.?|including|with)\s+(?:the\s+)?(?:experts?|attention|embeddings?|MLPs?|FFNs?)\b",
    re.IGNORECASE,
)
_HEADER_SIZE_RE = re.compile(r"total|active|size|규모|활성|총", re.IGNORECASE)
_HEADER_SCALE_RE = lazy_compile(r"\(\s*(B|M|K|T|billions?|millions?)\s*\)", re.IGNORECASE)
_BARE_NUMBER_RE = lazy_compile(r"^\s*(~|≈)?\s*(\d+(?:\.\d+)?)\s*$")


# Called for every cell of every table row; a vault's tables repeat a few headers.
@functools.lru_cache(maxsize=1024)
def _column(header: str) -> Literal["param", "skip", "plain"]:
    if _PART_AFTER_RE().search(header) or (
        (_PART_RE().search(header) or _PART_COLUMN_RE().search(header))
        and not _WHOLE_COLUMN_RE().search(header)
    ):
        return "skip"  # "Non-embedding params", "Trainable params", "LoRA params", "Experts params"
    if _HEADER_PARAM_RE.search(header):
        return "param"
    if _HEADER_SKIP_RE.search(header):
        return "skip"
    return "param" if _HEADER_SIZE_RE.search(header) else "plain"


def _row_claims(
    segment: Segment,
    refs: Sequence[ModelRef],
    consumed: Sequence[tuple[int, int]],
) -> list[Candidate]:
    """Claims of a table row: a model in one cell, its counts in the cells after it (by column header)."""
    text, cells = segment.text, segment.cells
    refs = list(refs)
    if cells:
        first = text[cells[0][0] : cells[0][1]]
        name = first.strip().strip("*").strip()
        offset = cells[0][0] + first.index(name) if name else 0
        if name and _model_like(name) and not any(r.start < cells[0][1] for r in refs):
            refs.append(ModelRef(name, offset, offset + len(name), "unknown", name))
            refs.sort(key=lambda r: r.start)
    out: list[Candidate] = []
    for index, (a, b) in enumerate(cells):
        header = segment.header[index] if index < len(segment.header) else ""
        column = _column(header)
        in_cell = [r for r in refs if a <= r.start < b]
        if in_cell:  # counts after the reference inside its own cell ("LLaMA-7B (6.7B)")
            out += _implicit(segment.line, text, in_cell, consumed, (a, b))
            continue
        owner = [r for r in refs if r.end <= a]
        if column == "skip" or not owner:
            continue
        ref = owner[-1]
        cell = text[a:b]
        bare = _BARE_NUMBER_RE().match(cell)
        scale = _HEADER_SCALE_RE().search(header)
        found: list[tuple[int, Stated]] = []
        if bare is not None and scale is not None:
            letter = scale.group(1)[0].upper()
            stated = parse_quantity(f"{bare.group(2)}{letter}")
            stated = replace(stated, text=cell.strip(), suffix="", approximate=bool(bare.group(1)))
            found.append((a + bare.start(2), stated))
        else:
            for s, e, q in find_quantities(cell, scaled_only=True):
                if not _eligible(cell, s, e, q):
                    continue
                if column == "plain" and cell.strip() != cell[s:e].strip():
                    continue
                found.append((a + s, q))
        for start, stated in found:
            if any(x <= start < y for x, y in consumed):
                continue
            measure: Measure = "active" if _HEADER_ACTIVE_RE().search(header) else "total"
            if measure == "total" and _ACTIVE_RE.search(_clause_after(text, start + len(stated.text))):
                measure = "active"  # "46.7B (12.9B active)" under a Params header
            op: Op = "≈" if stated.approximate else "="
            label = f"{header.strip()} " if header.strip() else ""
            claim_text = f"{ref.text}: {label}{cell.strip()}"
            out.append(ImplicitCandidate(segment.line, claim_text, ref, stated, measure, op))
    return out
