"""Files shipped inside the package (templates, presets), found without ``importlib.resources`` when they
lie in a plain folder: its readers import ``zipfile`` and ``threading``, a tenth of a one-note check."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def package_folder(package: str) -> Path | None:
    """The folder holding ``package``'s files, or None when they are not a plain folder (a zip import)."""
    spec = importlib.util.find_spec(package)
    for location in (spec.submodule_search_locations or ()) if spec is not None else ():
        folder = Path(location)
        if folder.is_dir():
            return folder
    return None


def read_text(package: str, name: str) -> str:
    """The text of the file ``name`` shipped in ``package``."""
    folder = package_folder(package)
    if folder is not None and (folder / name).is_file():
        return (folder / name).read_text(encoding="utf-8")
    from importlib import resources

    return resources.files(package).joinpath(name).read_text(encoding="utf-8")
