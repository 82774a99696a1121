"""Jinja2 templates shipped with vault-tools; a vault overrides them by name from its own folder."""
