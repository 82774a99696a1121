"""Shipped files are found in a plain folder directly and in a zip through importlib.resources."""

from __future__ import annotations

import sys
import zipfile
from importlib import resources
from pathlib import Path

from vault_tools.package_files import package_folder, read_text


def test_shipped_files_read_as_importlib_resources_reads_them() -> None:
    folder = package_folder("vault_tools.data")
    assert folder is not None and (folder / "presets.yaml").is_file()
    expected = resources.files("vault_tools.data").joinpath("presets.yaml").read_text(encoding="utf-8")
    assert read_text("vault_tools.data", "presets.yaml") == expected


def test_a_package_in_a_zip_is_read_through_importlib_resources(tmp_path: Path) -> None:
    archive = tmp_path / "zipped.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("zipped_pkg/__init__.py", "")
        out.writestr("zipped_pkg/data.txt", "from the zip\n")
    sys.path.insert(0, str(archive))
    try:
        assert package_folder("zipped_pkg") is None
        assert read_text("zipped_pkg", "data.txt") == "from the zip\n"
    finally:
        sys.path.remove(str(archive))
        sys.modules.pop("zipped_pkg", None)
