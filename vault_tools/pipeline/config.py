"""Per-vault settings: ``[tool.vault-tools]`` in ``pyproject.toml``, or a ``.vault-tools.toml`` at the root.

``.vault-tools.toml`` holds the keys at its top level (or, as in ``pyproject.toml``, in a
``[tool.vault-tools]`` table) and wins over ``pyproject.toml`` when both exist.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType, ModuleType
from typing import Any

from vault_tools.records import field, fields, record

CONFIG_FILE = ".vault-tools.toml"
# The headings a changelog section goes by (compared through changelog.heading_key).
DEFAULT_HEADINGS = ("changelog", "change log", "변경 이력", "변경 로그", "history")
STATUSES = ("verified", "failed", "unverified")
DEFAULT_STATUS_MAP: Mapping[str, str] = MappingProxyType({status: status for status in STATUSES})


def _is_date(value: object) -> bool:
    """A TOML date (``date = 2026-11-23``, not a date-time); tomllib has imported datetime for it."""
    import datetime as dt

    return isinstance(value, dt.date) and not isinstance(value, dt.datetime)


def _today() -> str:
    # time, not datetime: the date module is not worth its import on a warm run that writes no date.
    return time.strftime("%Y-%m-%d")


@record
class Config:
    """A vault's settings; the defaults are what a vault without any configuration gets."""

    root: Path = Path()
    source: Path | None = None  # the file the settings came from
    include: tuple[str, ...] = ()  # globs; empty means every note
    exclude: tuple[str, ...] = ()
    templates: Path | None = None  # absolute; None means the templates shipped with the package
    changelog_headings: tuple[str, ...] = DEFAULT_HEADINGS
    date: str = field(default_factory=_today)  # the date written into notes (fixed for reproducible runs)
    status_key: str = "verification_status"
    date_key: str = "last_reinforced"
    # internal status -> what the vault writes
    status_map: Mapping[str, str] = field(default_factory=lambda: DEFAULT_STATUS_MAP)
    workers: int = 0  # 0: let the engine choose

    def __reduce__(self) -> tuple[Any, ...]:
        # Worker processes get the config by pickle; the read-only status map is not picklable as is.
        state = {f.name: getattr(self, f.name) for f in fields(self)}
        state["status_map"] = dict(self.status_map)
        return (_config_from_state, (state,))

    def is_excluded(self, rel: str, *, is_dir: bool = False) -> bool:
        """Whether a root-relative POSIX path is excluded (itself or through one of its folders): by the
        ``exclude`` globs, or as the vault's ``templates`` folder, whose files are templates, not notes."""
        if self.templates is not None:
            own = _relative_folder(self.root, self.templates)
            if own is not None and (rel == own or rel.startswith(own + "/")):
                return True
        return bool(self.exclude) and _matches(_compile(self.exclude), rel, is_dir=is_dir)

    def is_included(self, rel: str) -> bool:
        """Whether a root-relative POSIX note path is selected: included and not excluded."""
        if self.include and not _matches(_compile(self.include), rel, is_dir=False):
            return False
        return not self.is_excluded(rel)


def _config_from_state(state: dict[str, Any]) -> Config:
    state["status_map"] = MappingProxyType(state["status_map"])
    return Config(**state)


_KNOWN_KEYS = (
    "changelog_headings",
    "date",
    "date_key",
    "exclude",
    "include",
    "status_key",
    "status_map",
    "templates",
    "workers",
)


def load_config(root: Path) -> Config:
    """Load the settings of the vault at ``root`` (defaults when it has none)."""
    dot = root / CONFIG_FILE
    if dot.is_file():
        data = _read_toml(dot)
        if set(data) == {"tool"} and isinstance(data["tool"], dict) and "vault-tools" in data["tool"]:
            return _build(data["tool"]["vault-tools"], root, dot, " in [tool.vault-tools]")
        return _build(data, root, dot, "")
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        tool = _read_toml(pyproject).get("tool", {})
        if isinstance(tool, dict) and "vault-tools" in tool:
            return _build(tool["vault-tools"], root, pyproject, " in [tool.vault-tools]")
    return Config(root=root)


def absolute(path: str | Path) -> str:
    """Make a path absolute and drop ``..`` without following symlinks.

    Not ``Path.resolve()``: a note reached through a symlinked folder belongs to the vault it was found in.
    """
    return os.path.abspath(path)  # noqa: PTH100 - see the docstring


def find_vault_root(path: Path) -> Path:
    """Walk up from ``path`` to the nearest folder configured for the tool (``.vault-tools.toml`` or a
    pyproject with ``[tool.vault-tools]``), else to the nearest holding ``.obsidian/``, else to the
    nearest git work tree (a vault whose ``.obsidian`` is not committed, checked out for CI or a
    pre-commit run); without any, the folder of ``path`` itself.

    A configuration governs the notes below it, in an Obsidian vault of their own or not (a repository's
    pyproject may configure the vault in its ``notes/`` folder), so a note named alone (the pre-commit
    case) gets the configuration a walk of the whole tree gives it (``files.scan`` enters a configured
    folder below the root as a vault of its own).
    """
    start = Path(absolute(path))
    if not start.is_dir():
        start = start.parent
    return _find_root(start)


@functools.lru_cache(maxsize=1024)
def _find_root(start: Path) -> Path:
    vault: Path | None = None
    repository: Path | None = None
    for folder in (start, *start.parents):
        if is_configured(folder):
            return folder
        if vault is None and (folder / ".obsidian").is_dir():
            vault = folder
        if repository is None and (folder / ".git").exists():  # a folder, or a file in a linked work tree
            repository = folder
    return vault or repository or start


def is_configured(folder: Path) -> bool:
    """Whether ``folder`` holds the tool's configuration: its own file, or a pyproject table."""
    return (folder / CONFIG_FILE).is_file() or _has_table(folder / "pyproject.toml")


def _has_table(pyproject: Path) -> bool:
    try:
        text = pyproject.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    if "vault-tools" not in text:
        return False  # cheap and by far the most common answer
    toml = _tomllib()
    try:
        tool = toml.loads(text).get("tool", {})
    except toml.TOMLDecodeError:
        return True  # it means to configure us; load_config reports the syntax error
    return isinstance(tool, dict) and "vault-tools" in tool


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _tomllib() -> ModuleType:
    """The TOML parser, imported when a vault has a config file to read (most have none)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    return tomllib


def _read_toml(path: Path) -> dict[str, Any]:
    toml = _tomllib()
    try:
        with path.open("rb") as file:
            data: dict[str, Any] = toml.load(file)
            return data
    except toml.TOMLDecodeError as exc:
        raise ValueError(f"{_display(path)}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ValueError(f"{_display(path)}: cannot read: {exc.strerror}") from None


def _build(table: object, root: Path, source: Path, section: str) -> Config:
    where = _display(source)
    if not isinstance(table, dict):
        raise ValueError(f"{where}: [tool.vault-tools] must be a table of settings")
    for key in table:
        if key not in _KNOWN_KEYS:
            raise ValueError(f"{where}: unknown key {key!r}{section}; known keys: {', '.join(_KNOWN_KEYS)}")

    def fail(key: str, what: str) -> ValueError:
        return ValueError(f"{where}: {key!r} must be {what}")

    def strings(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = table.get(key, default)
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(item, str) for item in value):
            raise fail(key, "a list of strings")
        return tuple(value)

    def text(key: str, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise fail(key, "a non-empty string")
        return value

    templates = None
    if "templates" in table:
        templates = root / text("templates", "")
        if not templates.is_dir():
            raise ValueError(f"{where}: templates folder '{table['templates']}' does not exist")

    date = table.get("date")
    if date is None:
        date = _today()
    elif not isinstance(date, str) and _is_date(date):
        date = date.isoformat()
    elif not isinstance(date, str) or not _is_iso_date(date):
        raise fail("date", "a date like 2026-11-23")

    status_map = table.get("status_map", {})
    if not isinstance(status_map, dict) or not all(isinstance(v, str) for v in status_map.values()):
        raise fail("status_map", 'a table of status = "text" pairs')
    for status in status_map:
        if status not in STATUSES:
            raise ValueError(
                f"{where}: 'status_map' has unknown status {status!r}; known statuses: {', '.join(STATUSES)}"
            )

    workers = table.get("workers", 0)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
        raise fail("workers", "a whole number of worker processes (0 lets vault-tools choose)")

    return Config(
        root=root,
        source=source,
        include=strings("include", ()),
        exclude=strings("exclude", ()),
        templates=templates,
        changelog_headings=strings("changelog_headings", DEFAULT_HEADINGS),
        date=date,
        status_key=text("status_key", "verification_status"),
        date_key=text("date_key", "last_reinforced"),
        status_map=MappingProxyType({**DEFAULT_STATUS_MAP, **status_map}),
        workers=workers,
    )


def _is_iso_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return False
    import datetime as dt  # a configured date only

    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


# Globs, gitignore-style: a pattern without "/" matches a file or folder name at any depth; one with "/"
# is anchored at the vault root; a trailing "/" matches folders only; "**" crosses folders, "*" does not.
# A matching folder takes everything inside it along.
_Pattern = tuple[re.Pattern[str], bool, bool]  # regex, anchored, folders only


@functools.lru_cache(maxsize=64)
def _compile(globs: Sequence[str]) -> tuple[_Pattern, ...]:
    out = []
    for glob in globs:
        dir_only = glob.endswith("/")
        anchored = "/" in glob.rstrip("/")  # a leading "/" anchors too, as in .gitignore
        out.append((re.compile(_translate(glob.strip("/"))), anchored, dir_only))
    return tuple(out)


def _translate(glob: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and "]" in glob[i + 2 :]:
            close = glob.index("]", i + 2)
            chars = glob[i + 1 : close]
            negate = chars[:1] in ("!", "^")
            chars = chars[1:] if negate else chars
            out.append("[" + ("^" if negate else "") + chars.replace("\\", "\\\\") + "]")
            i = close + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=16)
def _relative_folder(root: Path, folder: Path) -> str | None:
    """``folder`` as a root-relative POSIX path when it lies inside the vault (not the vault itself)."""
    rel = os.path.relpath(folder, root)
    if rel in (".", "..") or rel.startswith(".." + os.sep) or Path(rel).is_absolute():
        return None
    return rel.replace(os.sep, "/")


def _matches(patterns: tuple[_Pattern, ...], rel: str, *, is_dir: bool) -> bool:
    parts = rel.split("/")
    for depth in range(1, len(parts) + 1):
        folder = is_dir or depth < len(parts)
        for regex, anchored, dir_only in patterns:
            if dir_only and not folder:
                continue
            if regex.fullmatch("/".join(parts[:depth]) if anchored else parts[depth - 1]):
                return True
    return False
