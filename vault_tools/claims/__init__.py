"""Claim validation: find the numbers a note states and check them.

``evaluate_claims(note)`` returns every claim of a note with its verdict; ``ClaimsProcessor`` turns them
into the note's Verification region.  The explicit claim grammar and the tolerance rules are documented in
the README's "Claims" section.
"""

from __future__ import annotations

from vault_tools.claims.evaluate import ClaimResult, evaluate_claims, high_confidence
from vault_tools.claims.grammar import ExplicitClaim, parse_claim
from vault_tools.claims.processor import ClaimsProcessor

__all__ = [
    "ClaimResult",
    "ClaimsProcessor",
    "ExplicitClaim",
    "evaluate_claims",
    "high_confidence",
    "parse_claim",
]
