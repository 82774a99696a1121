"""Jinja2 rendering: templates from a vault's own folder first, then the ones shipped in the package."""

from __future__ import annotations

import functools
import hashlib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_tools.fmt import grouped, human_bytes, human_count, share

if TYPE_CHECKING:  # jinja2 loads on the first render, not for a run the cache answers
    import jinja2

# A source tree that was never installed still finds the top-level templates/ folder.
_SOURCE_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def cell(value: object) -> str:
    """Make ``value`` safe inside a GFM table cell: escape pipes (also in wikilinks), no line breaks."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    return text.replace("\\|", "|").replace("|", "\\|")


def _package_templates() -> Path:
    try:
        folder = resources.files("vault_tools.templates")
        path = Path(str(folder))
        if (path / "model-spec.md.j2").is_file():
            return path
    except ModuleNotFoundError:
        pass
    return _SOURCE_TEMPLATES


@functools.cache
def environment(override_dir: str | None = None) -> jinja2.Environment:
    """The template environment; a vault's ``templates`` folder overrides shipped templates by name."""
    import jinja2

    loaders: list[jinja2.BaseLoader] = []
    if override_dir is not None:
        loaders.append(jinja2.FileSystemLoader(override_dir))
    loaders.append(jinja2.FileSystemLoader(str(_package_templates())))
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(loaders),
        autoescape=False,  # Markdown, not HTML; table cells go through the ``cell`` filter instead
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters.update(cell=cell, human=human_count, grouped=grouped, bytes=human_bytes)
    env.globals.update(share=share)
    return env


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    """Compiled templates kept between runs (a pre-commit run would spend most of its time compiling).

    Jinja's own per-user folder under the temp directory, created private; entries carry a checksum of
    the template source, so an edited template is compiled again.  None where no such folder can be made.
    """
    import jinja2

    try:
        return jinja2.FileSystemBytecodeCache()
    except RuntimeError:  # the folder exists but is not ours or not private
        return None


def render(name: str, override_dir: str | None = None, **context: Any) -> str:
    """Render template ``name``; the result always ends with exactly one newline."""
    return environment(override_dir).get_template(name).render(**context).rstrip("\n") + "\n"


def templates_fingerprint(override_dir: str | None = None) -> str:
    """A hash of every template in use, so caches of rendered output notice a template change."""
    digest = hashlib.sha256()
    for folder in (override_dir, str(_package_templates())):
        if folder is None or not Path(folder).is_dir():
            continue
        for path in sorted(Path(folder).glob("*.j2")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
