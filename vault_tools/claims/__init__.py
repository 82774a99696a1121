"""Claim validation: find the numbers a note states and check them."""
