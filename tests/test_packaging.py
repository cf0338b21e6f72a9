"""Packaging: one wheel carries `kommo_api` (with its emulator) and the addon as the
`odoo.addons.kommo_connector` package, the layout that setuptools-odoo and whool give to addons
published on PyPI, and Odoo itself is not a requirement.

The wheel is built from a copy of the working tree: a build in place would leave build/
behind, and setuptools copies stale files from there into later wheels.
"""

import email.parser
import importlib.util
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ADDON = REPO / "kommo_connector"
ADDON_IN_WHEEL = "odoo/addons/kommo_connector"
PIP = (sys.executable, "-m", "pip", "-q", "--disable-pip-version-check")
NOT_SOURCE = shutil.ignore_patterns(
    ".git", ".venv", ".run", "build", "dist", "*.egg-info", "__pycache__", "*.pyc", ".*_cache"
)

sys.path.insert(0, str(REPO / "scripts"))
from odoo_env import find_odoo  # noqa: E402

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("pip") is None or importlib.util.find_spec("setuptools") is None,
    reason="building the wheel needs pip and setuptools in the test environment",
)

# Where Odoo 18, run from source, finds the addon: the module path it lists the addon under,
# and the file `import odoo.addons.kommo_connector` loads.
WHERE_ODOO_FINDS_THE_ADDON = """
import importlib.util, sys
from odoo.modules import module
from odoo.tools import config
config.parse_config(["--addons-path=" + sys.argv[1]])
module.initialize_sys_path()
print(module.get_module_path("kommo_connector", display_warning=False))
print(importlib.util.find_spec("odoo.addons.kommo_connector").origin)
"""


def files_under(folder):
    return sorted(
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    )


def run_python(code, *args, pythonpath, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in pythonpath)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
        check=False,
    )


def odoo_tree_or_skip():
    tree = find_odoo()
    if tree is None:
        pytest.skip("no Odoo 18 source tree found (ODOO_PATH, odoo-bin on PATH)")
    return tree


def where_odoo_finds_the_addon(tree, addons_path, extra_pythonpath, cwd):
    result = run_python(
        WHERE_ODOO_FINDS_THE_ADDON,
        ",".join(str(p) for p in addons_path),
        pythonpath=[tree.root, *extra_pythonpath],
        cwd=cwd,
    )
    if result.returncode != 0 and "ModuleNotFoundError" in result.stderr:
        pytest.skip(f"Odoo's Python requirements are not installed: {result.stderr[-300:]}")
    assert result.returncode == 0, result.stderr
    module_path, origin = result.stdout.split()[-2:]
    return Path(module_path), Path(origin)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    source = tmp_path_factory.mktemp("source") / "repo"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP, "wheel", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    (wheel_path,) = out.glob("*.whl")
    return wheel_path


@pytest.fixture(scope="module")
def wheel_names(wheel):
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


@pytest.fixture(scope="module")
def installed_wheel(wheel, tmp_path_factory):
    """The wheel installed by pip into a folder of its own (a site-packages stand-in)."""
    target = tmp_path_factory.mktemp("site-packages")
    subprocess.run(
        [*PIP, "install", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return target


def test_the_addon_is_packaged_as_odoo_addons_kommo_connector(wheel_names):
    assert f"{ADDON_IN_WHEEL}/__manifest__.py" in wheel_names
    assert f"{ADDON_IN_WHEEL}/__init__.py" in wheel_names


def test_every_file_of_the_addon_is_in_the_wheel(wheel_names):
    # views, data, security CSV, translations, static/description (icon, apps page), README
    missing = [name for name in files_under(ADDON) if f"{ADDON_IN_WHEEL}/{name}" not in wheel_names]
    assert missing == []


def test_the_apps_page_and_icon_are_in_the_wheel(wheel_names):
    assert f"{ADDON_IN_WHEEL}/static/description/icon.png" in wheel_names
    assert f"{ADDON_IN_WHEEL}/static/description/index.html" in wheel_names


def test_kommo_api_and_its_emulator_are_in_the_wheel(wheel_names):
    expected = [f"kommo_api/{name}" for name in files_under(REPO / "kommo_api")]
    assert "kommo_api/__init__.py" in expected
    assert "kommo_api/testing/__init__.py" in expected
    assert [name for name in expected if name not in wheel_names] == []


def test_the_wheel_leaves_the_odoo_package_to_odoo(wheel_names):
    # An odoo/__init__.py or odoo/addons/__init__.py here would shadow Odoo's own package.
    assert "odoo/__init__.py" not in wheel_names
    assert "odoo/addons/__init__.py" not in wheel_names
    top_level = {name.split("/")[0] for name in wheel_names if ".dist-info/" not in name}
    assert top_level == {"kommo_api", "odoo"}


def test_the_wheel_requires_its_libraries_but_not_odoo(wheel, wheel_names):
    (metadata_name,) = [n for n in wheel_names if n.endswith(".dist-info/METADATA")]
    with zipfile.ZipFile(wheel) as archive:
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode())
    required = [
        requirement.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
        for requirement in metadata.get_all("Requires-Dist") or []
        if "extra ==" not in requirement
    ]
    assert "requests" in required
    assert "phonenumbers" in required
    assert not [name for name in required if name.startswith("odoo")]


def test_kommo_api_imports_from_the_installed_wheel(installed_wheel, tmp_path):
    result = run_python(
        "import importlib.util, kommo_api\n"
        "print(kommo_api.__file__)\n"
        "print(importlib.util.find_spec('kommo_api.testing').origin)",
        pythonpath=[installed_wheel],
        cwd=tmp_path,
    )

    assert result.returncode == 0, result.stderr
    package, emulator = (Path(line) for line in result.stdout.split())
    assert package == installed_wheel / "kommo_api" / "__init__.py"
    assert emulator == installed_wheel / "kommo_api" / "testing" / "__init__.py"


def test_odoo_from_source_finds_the_addon_installed_from_the_wheel(installed_wheel, tmp_path):
    tree = odoo_tree_or_skip()

    module_path, origin = where_odoo_finds_the_addon(
        tree, [tree.root / "odoo" / "addons"], [installed_wheel], tmp_path
    )

    assert module_path == installed_wheel / ADDON_IN_WHEEL
    assert origin == installed_wheel / ADDON_IN_WHEEL / "__init__.py"


def test_odoo_from_source_loads_the_addon_from_the_repository_in_its_addons_path(tmp_path):
    # Holds with or without the project's editable install (`pip install -e .`) in this
    # environment: the addons path wins, so developers run the files they edit.
    tree = odoo_tree_or_skip()

    module_path, origin = where_odoo_finds_the_addon(
        tree, [tree.root / "odoo" / "addons", REPO], [], tmp_path
    )

    assert module_path == ADDON
    assert origin == ADDON / "__init__.py"
