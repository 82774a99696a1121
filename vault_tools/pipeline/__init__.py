"""The vault pipeline: scan, parse, process, render, write back."""
