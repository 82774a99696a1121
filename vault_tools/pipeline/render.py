"""Jinja2 rendering: templates from a vault's own folder first, then the ones shipped in the package."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vault_tools.digests import sha256
from vault_tools.fmt import grouped, human_bytes, human_count, share
from vault_tools.records import record

if TYPE_CHECKING:  # jinja2 loads on the first render, not for a run the cache answers
    import jinja2
    import jinja2.nodes

# A source tree that was never installed still finds the top-level templates/ folder.
_SOURCE_TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def cell(value: object) -> str:
    """Make ``value`` safe inside a GFM table cell: escape pipes (also in wikilinks), no line breaks."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    return text.replace("\\|", "|").replace("|", "\\|")


def _package_templates() -> Path:
    from vault_tools.package_files import package_folder

    try:
        path = package_folder("vault_tools.templates")
    except ModuleNotFoundError:
        path = None
    if path is not None and (path / "model-spec.md.j2").is_file():
        return path
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


# Stand-ins for a title: control characters no title or table cell shows, equally long, and neither a
# proper prefix of its own suffix, so every occurrence in a rendering is one whole stand-in.
_SLOT = "\x00vault-tools:title\x01"
_OTHER_SLOT = "\x00vault-tools:TITLE\x01"


@record
class Untitled:
    """A rendering with its ``title`` left open, to be filled in per note."""

    raw: str  # as the template renders it with _SLOT for the title

    def fill(self, title: str) -> str:
        """The text ``render`` gives with this ``title``."""
        return self.raw.replace(_SLOT, cell(title)).rstrip("\n") + "\n"


def render_untitled(name: str, override_dir: str | None = None, **context: Any) -> Untitled | None:
    """Render template ``name`` once for every ``title``, or None where that cannot be done exactly.

    Notes built from one template hold the same spec under different titles; the tables are the same but
    for the title, and rendering ~90 rows per note would cost more than the rest of the note.  It is exact
    when the templates use ``title`` only as ``{{ title | cell }}`` and the data never holds the stand-in.
    """
    if not _title_only_in_cells(name, override_dir):
        return None
    template = environment(override_dir).get_template(name)
    raw = template.render({**context, "title": _SLOT})
    # A stand-in that came from the data, not the title, would be filled too: then the two renderings
    # differ somewhere else than where the title goes.
    if raw.replace(_SLOT, _OTHER_SLOT) != template.render({**context, "title": _OTHER_SLOT}):
        return None
    return Untitled(raw)


@functools.cache
def _title_only_in_cells(name: str, override_dir: str | None) -> bool:
    """Whether ``title`` reaches ``name`` and the templates it pulls in only as ``{{ title | cell }}``."""
    import jinja2.meta

    env = environment(override_dir)
    assert env.loader is not None
    todo, seen = [name], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        tree = env.parse(env.loader.get_source(env, current)[0])
        if not _celled(tree, "title"):
            return False
        for referenced in jinja2.meta.find_referenced_templates(tree):
            if referenced is None:  # a template name computed at render time: cannot be checked
                return False
            todo.append(referenced)
    return True


def _celled(node: jinja2.nodes.Node, variable: str) -> bool:
    """Whether every use of ``variable`` under ``node`` is an output ``{{ variable | cell }}``."""
    import jinja2.nodes as nodes

    for child in node.iter_child_nodes():
        if isinstance(child, nodes.Name) and child.name == variable:
            return False  # set, tested, looped over, filtered otherwise, passed on, or a parameter
        if (
            isinstance(node, nodes.Output)
            and isinstance(child, nodes.Filter)
            and child.name == "cell"
            and isinstance(child.node, nodes.Name)
            and child.node.name == variable
            and child.node.ctx == "load"
            and not (child.args or child.kwargs or child.dyn_args or child.dyn_kwargs)
        ):
            continue
        if not _celled(child, variable):
            return False
    return True


def templates_fingerprint(override_dir: str | None = None) -> str:
    """A hash of every file the templates may use, so caches of rendered output notice a template change.

    Every file of the folders, in subfolders too (not hidden ones or bytecode): a template may
    ``{% include %}`` any of them.
    """
    digest = sha256()
    for folder in (override_dir, str(_package_templates())):
        if folder is None or not Path(folder).is_dir():
            continue
        for path in sorted(Path(folder).rglob("*")):
            name = path.relative_to(folder).as_posix()
            if any(part.startswith(".") or part == "__pycache__" for part in name.split("/")):
                continue
            if path.is_file():
                digest.update(name.encode() + b"\0")
                digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
