"""The pure core: numbers in, frozen records out; no I/O beyond reading packaged data."""
