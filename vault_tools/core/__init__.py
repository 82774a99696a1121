"""The pure core: numbers in, frozen dataclasses out; no I/O beyond reading packaged data."""
