"""Evaluate a note's claims: find them, compute what they state with the core, and judge each one."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import PurePath
from typing import TYPE_CHECKING, Any, Literal

import yaml

from vault_tools.claims.arith import ArithmeticCandidate
from vault_tools.claims.detect import (
    Candidate,
    ExplicitCandidate,
    ImplicitCandidate,
    SegmentKey,
    segment_candidates,
)
from vault_tools.claims.grammar import ExplicitClaim, parse_claim
from vault_tools.claims.models import Family, ModelCatalog, ModelEntry, ModelRef, preset_catalog
from vault_tools.claims.quantities import compute
from vault_tools.claims.scan import Fence, bare_line, ended_lines, scan_rows
from vault_tools.claims.verdict import Judgement, Verdict, judge
from vault_tools.core.roles import part_role
from vault_tools.fmt import human_count
from vault_tools.names import normalize_name
from vault_tools.pipeline.config import DEFAULT_HEADINGS
from vault_tools.pipeline.model import NoteContext
from vault_tools.processors import load_spec_yaml
from vault_tools.records import record, replace

if TYPE_CHECKING:  # the core loads when a claim names a model, not for every note with a number
    from vault_tools.core.params import ParamCount
    from vault_tools.core.spec import ModelSpec

    Resolved = tuple[ModelSpec, ParamCount]

ClaimKind = Literal["explicit", "implicit", "arithmetic"]


@record
class ClaimResult:
    """One claim with its verdict, ready for a report row or ``validate --json``."""

    line: int  # 1-based line in the note
    text: str
    stated: str
    computed: str | None  # at the author's precision
    computed_full: str | None
    verdict: Verdict
    kind: ClaimKind
    message: str = ""


def evaluate_claims(note: NoteContext, *, catalog: ModelCatalog | None = None) -> list[ClaimResult]:
    """Every claim in ``note`` with its verdict, in line order (frontmatter claims first)."""
    catalog = catalog or preset_catalog()
    listed, found, own = _claims(note, catalog)
    resolver = _Resolver(
        note.resolve_model, catalog, own, _linked_names(note) if own is not None else frozenset()
    )
    results = [resolver.explicit(line, text) for line, text in listed]
    for line, key, candidates, plain in found:
        judged = _judged(key, catalog) if plain else resolver.results(candidates)
        for candidate, pure in zip(candidates, judged, strict=True):
            results.append(_at(pure, line) if pure is not None else resolver.result(candidate, line))
    return results


def claim_lines(note: NoteContext, *, catalog: ModelCatalog | None = None) -> list[int]:
    """The line of each claim ``evaluate_claims`` would report, in its order, without judging any."""
    catalog = catalog or preset_catalog()
    listed, found, _own = _claims(note, catalog)
    lines = [line for line, _text in listed]
    for line, _key, candidates, _plain in found:
        lines += [line] * len(candidates)
    return lines


# A segment with claims: its line, what detection reads of it, its candidates (at line 0), and whether
# they are its plain ones (the note's own names change nothing), whose pure verdicts are remembered.
_Found = tuple[int, SegmentKey, tuple[Candidate, ...], bool]


def _claims(
    note: NoteContext, catalog: ModelCatalog
) -> tuple[list[tuple[int, str]], list[_Found], Mapping[str, Any] | None]:
    """The frontmatter claims, the segments of the body with claims, and the note's own spec."""
    rows, fences = scan_rows(note.text, note.body_start_line, note.edited_from, changelog_headings(note))
    own = _own_spec(note, fences)
    names = _own_names(note) if own is not None else None
    found: list[_Found] = []
    for row in rows:
        key = row[1:]  # a row is its line, then its key
        candidates, plain = segment_candidates(key, catalog, names)
        if candidates:
            found.append((row[0], key, candidates, plain))
    return frontmatter_claims(note), found, own


def changelog_headings(note: NoteContext) -> tuple[str, ...]:
    """The headings of ``note``'s vault that name its changelog (the defaults outside a vault run)."""
    config = note.options.get("config")
    return DEFAULT_HEADINGS if config is None else config.changelog_headings


def _at(result: ClaimResult, line: int) -> ClaimResult:
    """``result`` at ``line`` (what ``dataclasses.replace`` does, without its cost per claim)."""
    return ClaimResult(
        line,
        result.text,
        result.stated,
        result.computed,
        result.computed_full,
        result.verdict,
        result.kind,
        result.message,
    )


def frontmatter_claims(note: NoteContext) -> list[tuple[int, str]]:
    """``(line, claim)`` for each item of the frontmatter ``claims:`` list, at the line it is written on."""
    raw = note.frontmatter.get("claims")
    if raw is None:
        return []
    items = [raw] if isinstance(raw, str) else list(raw) if isinstance(raw, list) else [raw]
    lines = [bare_line(line) for line in ended_lines(note.text)[: max(note.body_start_line - 1, 0)]]
    key_line = next((i for i, line in enumerate(lines) if line.startswith("claims:")), 0)
    out: list[tuple[int, str]] = []
    cursor = key_line
    for item in items:
        text = str(item)
        found = next((i for i in range(cursor, len(lines)) if text in lines[i]), None)
        if found is not None:
            cursor = found
        out.append(((cursor if found is not None else key_line) + 1, text))
    return out


def _own_spec(note: NoteContext, fences: Sequence[Fence]) -> Mapping[str, Any] | None:
    """The note's own model spec: its only model-spec block, else (a note without one) what the vault
    resolves its title to.

    A note with several specs (the LLaMA-7B note holds the article's estimate and the real config) does
    not say which one its title means, so its title is then no model reference at all.  A note's own block
    comes first: the vault's index holds what the last run read, and another note may share the title.
    """
    specs = [fence for fence in fences if fence.lang == "model-spec"]
    if len(specs) == 1:
        content = ended_lines(note.text)[specs[0].line : specs[0].end_line - 1]
        return _spec_mapping("\n".join(map(bare_line, content)))
    if specs:
        return None
    return note.resolve_model(note.title) if note.title else None


@functools.lru_cache(maxsize=256)
def _spec_mapping(text: str) -> Mapping[str, Any] | None:
    """A spec block's YAML mapping, parsed once per distinct text (callers only read it)."""
    try:
        raw = load_spec_yaml(text)
    except yaml.YAMLError:
        return None
    return raw if isinstance(raw, Mapping) else None


def _linked_names(note: NoteContext) -> frozenset[str]:
    """The names a link to ``note`` may use (its title, aliases and file name), normalised."""
    return frozenset([*_own_names(note), normalize_name(PurePath(note.path).stem)])


def _own_names(note: NoteContext) -> dict[str, str]:
    aliases = note.frontmatter.get("aliases") or []
    names = [note.title, *([aliases] if isinstance(aliases, str) else aliases)]
    return {normalize_name(str(name)): note.title for name in names if str(name).strip()}


class _Resolver:
    """Resolves model references once per note and turns candidates into results."""

    def __init__(
        self,
        resolve_model: Callable[[str], Mapping[str, Any] | None],
        catalog: ModelCatalog,
        own: Mapping[str, Any] | None,
        own_names: frozenset[str] = frozenset(),
    ) -> None:
        self._resolve_model = resolve_model
        self._catalog = catalog
        self._own = own
        self._own_names = own_names
        self._cache: dict[tuple[str, str], Resolved | str] = {}

    def model(self, name: str, *, link: bool = False, own: bool = False) -> Resolved | str:
        """Spec and count of a model reference, or why there is none."""
        if (
            not own
            and normalize_name(name) in self._own_names
            and (link or self._catalog.lookup(name) is None)
        ):
            # The note's own title, alias or file name (a link, or a name no preset has) means the spec it
            # holds, which the vault's index may not know yet (a first run) or knows as it was: the same
            # answer on every run, with or without the cache.
            link, own = False, True
        key = ("own" if own else "link" if link else "name", name)
        if key not in self._cache:
            self._cache[key] = self._lookup(name, link=link, own=own)
        return self._cache[key]

    def _lookup(self, name: str, *, link: bool, own: bool) -> Resolved | str:
        entry = None if link or own else self._catalog.lookup(name)
        if entry is not None:
            return self._catalog.spec_and_count(entry)
        mapping = self._own if own else self._resolve_model(name)
        if mapping is None and link:
            found = self._catalog.lookup(name)
            if found is not None:
                return self._catalog.spec_and_count(found)
        if mapping is None:
            where = f"[[{name}]] holds no model-spec" if link else f"unknown model {name!r}"
            return f"{where}; add a model-spec or use a preset name (vault-tools calc --list)"
        # The catalog remembers counts by key for the whole process: key a note's spec by its content,
        # so an edited spec (or two notes of the same name) never reuses another spec's count.
        content = json.dumps(mapping, sort_keys=True, default=str)
        entry = ModelEntry(key=f"note:{name}:{content}", title=name, mapping=mapping)
        return self._catalog.spec_and_count(entry)

    def result(self, candidate: Candidate, line: int) -> ClaimResult:
        """The verdict on ``candidate`` (detected at line 0), at ``line``."""
        return _at(self._result(candidate), line)

    def results(self, candidates: Sequence[Candidate]) -> list[ClaimResult]:
        """The verdicts on the candidates of one segment (at line 0): the total and active counts a bare
        family name states there are judged against one size ("Mixtral has 47B total and 39B active" mixes
        two)."""
        sizes = self._family_sizes(candidates)
        return [self._result(candidate, sizes.get(k)) for k, candidate in enumerate(candidates)]

    def _result(self, candidate: Candidate, size: ModelEntry | None = None) -> ClaimResult:
        if isinstance(candidate, ExplicitCandidate):
            return self.explicit(candidate.line, candidate.text, candidate.claim, candidate.error)
        if isinstance(candidate, ArithmeticCandidate):
            return self._arithmetic(candidate)
        return self._implicit(candidate, size)

    def _family_sizes(self, candidates: Sequence[Candidate]) -> dict[int, ModelEntry]:
        """For the total and active counts a segment states for one bare family name (by where the name
        stands), the size that fits most of them, by candidate index; a lone count, or a list of totals
        (sizes listed), is judged on its own."""
        groups: dict[int, list[tuple[int, ImplicitCandidate, Family]]] = {}
        for k, candidate in enumerate(candidates):
            if isinstance(candidate, ImplicitCandidate):
                family = self._catalog.family(candidate.ref)
                if family is not None:
                    groups.setdefault(candidate.ref.start, []).append((k, candidate, family))
        out: dict[int, ModelEntry] = {}
        for group in groups.values():
            if len({c.measure for _k, c, _f in group}) < 2:
                continue  # one count, or a list of sizes ("GPT-2 comes in 124M, 355M, 774M and 1.5B")
            best, most = None, 0
            for entry in group[0][2].members:
                model = self._catalog.spec_and_count(entry)
                if isinstance(model, str):
                    continue
                fits = sum(self._judge_count(c, model, entry).verdict == "ok" for _k, c, _f in group)
                if fits > most:
                    best, most = entry, fits
            if best is not None:
                out.update((k, best) for k, _c, _f in group)
        return out

    def explicit(
        self, line: int, text: str, claim: ExplicitClaim | None = None, error: str | None = None
    ) -> ClaimResult:
        if claim is None and error is None:
            try:
                claim = parse_claim(text)
            except ValueError as exc:
                error = str(exc)
        if claim is None:
            return ClaimResult(line, text, "", None, None, "unverified", "explicit", f"cannot parse: {error}")
        stated = claim.stated.text
        model = self.model(claim.model, link=claim.link)
        if isinstance(model, str):
            return ClaimResult(line, claim.text, stated, None, None, "unverified", "explicit", model)
        try:
            value, detail = compute(claim, *model)
        except (ValueError, LookupError, TypeError) as exc:  # options the claim gives that do not hold
            message = f"cannot compute: {exc}"
            return ClaimResult(line, claim.text, stated, None, None, "unverified", "explicit", message)
        judged = judge(claim.stated, value, claim.op)
        if detail and judged.verdict == "wrong":
            judged = replace(judged, message=f"{judged.message}; {detail}")
        return ClaimResult(
            line,
            claim.text,
            stated,
            judged.computed,
            judged.computed_full,
            judged.verdict,
            "explicit",
            judged.message,
        )

    def _implicit(self, candidate: ImplicitCandidate, size: ModelEntry | None = None) -> ClaimResult:
        if candidate.compared_with is not None:
            return self._compared(candidate, candidate.compared_with, size)
        ref = candidate.ref
        stated = candidate.stated
        base = (candidate.line, candidate.text, stated.text)
        family = self._catalog.family(ref)
        if family is not None:
            return self._family(candidate, family, size)
        model = self._ref_model(ref)
        if isinstance(model, str):
            return ClaimResult(*base, None, None, "unverified", "implicit", model)
        entry = self._catalog.lookup(ref.name) if ref.source == "preset" else None
        judged = self._judge_count(candidate, model, entry)
        if candidate.rumour:
            message = "stated as a rumour; not checked"
            return ClaimResult(
                *base, judged.computed, judged.computed_full, "unverified", "implicit", message
            )
        message = judged.message
        if candidate.measure == "active":
            message = f"active parameters per token{'; ' + message if message else ''}"
        return ClaimResult(*base, judged.computed, judged.computed_full, judged.verdict, "implicit", message)

    def _compared(
        self, candidate: ImplicitCandidate, subject: ModelRef, size: ModelEntry | None
    ) -> ClaimResult:
        """A count after a model the sentence compares ``subject`` with (the nearest other model before
        it): ok when it fits that model, as any count after a name; wrong when it fits neither; else
        unverified, not wrong, as it may be the subject's."""
        plain = replace(candidate, compared_with=None)
        result = self._implicit(plain, size)
        if result.verdict != "wrong":
            return result
        if self._implicit(replace(plain, ref=subject), None).verdict == "wrong":
            # Whoever's it is, it is wrong: it fits neither model.
            why = f"fits neither {candidate.ref.text} nor {subject.text}, which the sentence compares"
            return replace(result, message="; ".join(filter(None, (why, result.message))))
        message = (
            f"not {candidate.ref.text}'s count; the sentence compares it with {subject.text}, "
            "whose count it may be"
        )
        return replace(result, verdict="unverified", message=message)

    def _judge_count(
        self, candidate: ImplicitCandidate, model: Resolved, entry: ModelEntry | None = None
    ) -> Judgement:
        """Judge the count ``candidate`` states for ``model`` (the preset ``entry``, if it is one).

        A total restating a size the preset's names carry (``GPT-2 has 1.5B`` for GPT-2 XL (1.5B)) is read
        as that size, as when the name in the text carries it (``LLaMA-7B: 7B``).
        """
        stated, count = candidate.stated, model[1]
        nominal = (
            entry is not None
            and (candidate.measure == "total" or count.active == count.total)
            and any(stated.value == size for _written, size in entry.sizes)  # "1.5B", "15억", "1,500M"
        )
        size_label = candidate.size_label or nominal
        value = _measured(candidate, count)
        judged = judge(stated, value, candidate.op, size_label=size_label, truncation=not candidate.exact)
        if judged.verdict != "wrong" or candidate.measure != "active" or candidate.op not in ("=", "≈"):
            return judged  # (a bound holds or fails by one count: "under 2.5B active" is not two claims)
        # DeepSeek counts activated parameters without the input embedding (a lookup multiplies nothing:
        # DeepSeek-V2-Lite's "2.4B activated" is 2.45B, not 2.66B); Mistral and Qwen count it.  Its models'
        # counts are read both ways; others' only as their cards count ("Mixtral … 12.7B active" is wrong).
        lookup = _input_embedding(count) if count.spec.model_type.startswith("deepseek") else 0
        if not lookup:
            return judged
        other = judge(stated, value - lookup, candidate.op, truncation=not candidate.exact)
        if other.verdict != "ok":
            return judged
        why = f"counted without the input embedding ({human_count(lookup)}), as DeepSeek's cards count"
        return replace(other, message="; ".join(filter(None, (why, other.message))))

    def _family(
        self, candidate: ImplicitCandidate, family: Family, size: ModelEntry | None = None
    ) -> ClaimResult:
        """A count stated for a bare family name: ok when it fits one of the family's sizes (``size``: the
        one the segment's counts fit together)."""
        base = (candidate.line, candidate.text, candidate.stated.text)
        measure = "active parameters per token; " if candidate.measure == "active" else ""
        # The words right after the name, up to the first count: "BERT (large): 110M", not "… base … 340M".
        after = candidate.text.partition(candidate.ref.text)[2]
        first = _FIRST_WORD_RE.match(after)
        named = family.named_in(first.group(1) if first else "")
        reason = "the size its other counts fit"
        if size is None and len(named) == 1 and len(family.members) > 1:
            size, reason = named[0], "the size named next to it"
        if size is not None and not candidate.rumour:
            model = self._catalog.spec_and_count(size)
            if not isinstance(model, str):
                judged = self._judge_count(candidate, model, size)
                why = f"as {size.title}" if judged.verdict == "ok" else f"as {size.title}, {reason}"
                message = measure + "; ".join(filter(None, (why, judged.message)))
                return ClaimResult(
                    *base, judged.computed, judged.computed_full, judged.verdict, "implicit", message
                )
        sizes: list[tuple[str, int, Judgement]] = []  # title, count, judgement
        for entry in named:
            model = self._catalog.spec_and_count(entry)
            if not isinstance(model, str):
                judged = self._judge_count(candidate, model, entry)
                sizes.append((entry.title, _measured(candidate, model[1]), judged))
        fits = next(((title, j) for title, _count, j in sizes if j.verdict == "ok"), None)
        if fits is not None:
            title, judged = fits
            verdict: Verdict = "unverified" if candidate.rumour else "ok"
            message = "; ".join(filter(None, (f"{measure}as {title}", judged.message)))
            if candidate.rumour:
                message = "stated as a rumour; not checked"
            return ClaimResult(*base, judged.computed, judged.computed_full, verdict, "implicit", message)
        listed = ", ".join(f"{title}: {human_count(count)}" for title, count, _judged in sizes)
        if family.complete and sizes and not candidate.rumour:
            # Shown against the size nearest the stated count.
            _title, _count, near = min(sizes, key=lambda size: abs(size[1] - candidate.stated.value))
            message = f"{measure}no {family.name} size has it: {listed}"
            return ClaimResult(*base, near.computed, near.computed_full, "wrong", "implicit", message)
        message = f"{family.name} names several models; name its size (the presets know {listed})"
        return ClaimResult(*base, None, None, "unverified", "implicit", message)

    def _ref_model(self, ref: ModelRef) -> Resolved | str:
        if ref.source == "unknown":
            return f"unknown model {ref.name!r}; add a preset or link a note that holds a model-spec"
        if ref.source == "preset":
            entry = self._catalog.lookup(ref.name)
            assert entry is not None
            return self._catalog.spec_and_count(entry)
        return self.model(ref.name, link=ref.source == "wikilink", own=ref.source == "note")

    def _arithmetic(self, candidate: ArithmeticCandidate) -> ClaimResult:
        stated = candidate.stated
        base = (candidate.line, candidate.text, stated.text)
        judged = judge(stated, candidate.value.value, candidate.op)
        if candidate.rumour:
            message = "stated as a rumour; not checked"
            return ClaimResult(
                *base, judged.computed, judged.computed_full, "unverified", "arithmetic", message
            )
        return ClaimResult(
            *base, judged.computed, judged.computed_full, judged.verdict, "arithmetic", judged.message
        )


@functools.lru_cache(maxsize=8192)
def _judged(key: SegmentKey, catalog: ModelCatalog) -> tuple[ClaimResult | None, ...]:
    """The verdict at line 0 of each plain candidate of a segment that reads nothing of the note or vault.

    Arithmetic and claims about presets or unknown names are judged once per distinct segment; None for
    a candidate whose verdict depends on the note (explicit claims, wikilinks, the note's own spec).
    """
    resolver = _Resolver(lambda _name: None, catalog, None)
    candidates = segment_candidates(key, catalog)[0]
    judged = iter(resolver.results([c for c in candidates if _pure(c)]))
    return tuple(next(judged) if _pure(candidate) else None for candidate in candidates)


# The word right after a family's name, alone, quoted or in parentheses, or after a possessive: "BERT
# (large)", "GPT-2's XL variant", "GPT-2의 XL 모델", "Mixtral (8x22B)"; not "BERT, a large language model".
_FIRST_WORD_RE = re.compile(r"(?:['’]s)?[\s\"'“”‘\[(–—-]*(?:의\s*)?([A-Za-z0-9.]+)")


def _input_embedding(count: ParamCount) -> int:
    """The token embedding's parameters when it is only looked up: untied (a tied one is also the head)."""
    if count.spec.tie_word_embeddings:
        return 0
    return sum(p.count for p in count.parts if part_role(p) == "embedding")


def _measured(candidate: ImplicitCandidate, count: ParamCount) -> int:
    """The count ``candidate`` states: the active parameters per token or the total."""
    return count.active if candidate.measure == "active" else count.total


def _pure(candidate: Candidate) -> bool:
    return isinstance(candidate, ArithmeticCandidate) or (
        isinstance(candidate, ImplicitCandidate) and candidate.ref.source in ("preset", "unknown")
    )


HIGH_CONFIDENCE_SCORE = 0.9


def high_confidence(frontmatter: Mapping[str, Any]) -> bool:
    """Whether a note's frontmatter claims high confidence (``confidence_score`` ≥ 0.9 or trust level A).

    Reports list such notes first when they hold wrong claims: a confident note that is wrong misleads most.
    """
    score = frontmatter.get("confidence_score")
    if isinstance(score, int | float) and not isinstance(score, bool) and score >= HIGH_CONFIDENCE_SCORE:
        return True
    return str(frontmatter.get("source_trust_level", "")).strip().upper() == "A"
