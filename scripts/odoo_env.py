"""Finding and preparing Odoo source trees (18.0 and 19.0) for the project's runners.

Shared by ``odoo_suite.py`` (``make test-odoo``) and ``run_demo.py`` (``make run``). Odoo is
not on PyPI and its location differs per machine, so nothing here is hard-coded: the trees are
discovered at run time (``find_odoo_trees``), one per supported series:

* ``ODOO18_PATH`` / ``ODOO19_PATH``: a tree of that series (anything inside it will do),
  else ``odoo18-bin`` / ``odoo19-bin`` on ``PATH`` (a link to that tree's launcher);
* then the first of (``find_odoo``), whatever its series:

  1. ``ODOO_PATH``: a folder of the tree (or anything inside it, e.g. its ``odoo-bin``);
  2. ``odoo-bin`` on ``PATH``, resolved through symlinks and walked up to the folder holding
     ``odoo/release.py`` (a package layout has its launcher at ``<tree>/setup/odoo``, a git
     checkout has ``odoo-bin`` at the top);
  3. an importable ``odoo`` package.

The series is read from the tree's ``odoo/release.py``. A tree of the project's own series
(18.0) runs in the project's environment (``.venv``); a tree of another series gets a virtual
environment of its own under ``.run/`` (``.run/venv-odoo19``), built from that tree's
``requirements.txt`` the first time, since each series pins its own library versions.
"""

from __future__ import annotations

import configparser
import getpass
import hashlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RUN_DIR = REPO / ".run"
# The data dir of every Odoo the runners start: their databases' filestores are here.
DATA_DIR = RUN_DIR / "odoo-data"
FILESTORE = DATA_DIR / "filestore"
# The series the addon installs on; the first one runs in the project's own .venv.
SUPPORTED_MAJORS = (18, 19)
PROJECT_MAJOR = SUPPORTED_MAJORS[0]

# pip's own constraint for building Odoo's pins: cbor2 5.4.2 (in requirements.txt) builds only
# with setuptools < 81, and recent pip applies PIP_BUILD_CONSTRAINT (not PIP_CONSTRAINT) to
# isolated build environments, so both must point at it.
BUILD_CONSTRAINTS = "setuptools<81\n"
# setuptools: the venv's own (65 on Python 3.11) has a pkg_resources that cannot find
# zope.interface >= 7 (its dist-info is named zope_interface-*), so gevent 22.10, which loads
# its plugins through pkg_resources, dies at start and prefork Odoo restarts its websocket
# process about once a second. pkg_resources is gone from setuptools 81.
SUITE_EXTRAS = ("pytest-odoo", "websocket-client", "setuptools>=70,<81")
# What the addon needs beyond Odoo, for a series' own venv (setup.py's install_requires: the
# project itself reaches it through PYTHONPATH, not installed).
ADDON_REQUIREMENTS = ("requests>=2.25", "phonenumbers>=8.12")

# Debian packages that pip needs to build Odoo's pinned requirements (psycopg2, python-ldap,
# lxml, Pillow ...) from source.
BUILD_PACKAGES = (
    "build-essential",
    "python3-dev",
    "libpq-dev",
    "libldap2-dev",
    "libsasl2-dev",
    "libxml2-dev",
    "libxslt1-dev",
    "libjpeg-dev",
    "zlib1g-dev",
)
BROWSERS = ("google-chrome", "chromium", "chromium-browser", "google-chrome-stable")

_VERSION_RE = re.compile(r"^version_info\s*=\s*\(\s*['\"]?(?:saas~)?(\d+)['\"]?\s*,\s*(\d+)", re.M)


class OdooNotFoundError(Exception):
    """ODOO_PATH was set but does not point into an Odoo source tree."""


@dataclass(frozen=True)
class OdooTree:
    """An Odoo source tree: ``root`` is the folder holding ``odoo/release.py``."""

    root: Path
    version: tuple[int, int]
    found_by: str
    launcher: Path | None = None
    on_sys_path: bool = False

    @property
    def version_label(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"

    @property
    def major(self) -> int:
        return self.version[0]

    @property
    def requirements(self) -> Path:
        return self.root / "requirements.txt"

    @property
    def without_demo(self) -> str:
        """The ``without_demo`` setting for no demo data: 18.0 takes a list of modules ("all"),
        19.0 a boolean."""
        return "all" if self.major < 19 else "True"

    @property
    def venv(self) -> Path | None:
        """The virtual environment that runs this tree; None: the project's own (.venv)."""
        if self.major == PROJECT_MAJOR or self.on_sys_path:
            return None
        return RUN_DIR / f"venv-odoo{self.major}"

    @property
    def python(self) -> str:
        venv = self.venv
        return sys.executable if venv is None else str(venv / "bin" / "python")

    def addons_paths(self, *extra: Path) -> list[Path]:
        # A git checkout keeps most modules (repair, mail ...) in <tree>/addons.
        paths = [self.root / "odoo" / "addons"]
        if (self.root / "addons").is_dir():
            paths.append(self.root / "addons")
        return [*paths, *extra]

    def command(self, python: str | None = None) -> list[str]:
        """The command line that starts Odoo's CLI (arguments are appended by the caller)."""
        python = python or self.python
        if self.launcher is not None:
            return [python, str(self.launcher)]
        return [python, "-m", "odoo"]

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        # The official launcher sets TZ before anything imports time; `-m odoo` does not.
        env["TZ"] = "UTC"
        # The repository too: the addon imports kommo_api from it (a series' own venv does not
        # have the project installed).
        paths = [str(REPO)] if self.on_sys_path else [str(self.root), str(REPO)]
        env["PYTHONPATH"] = os.pathsep.join(p for p in (*paths, env.get("PYTHONPATH", "")) if p)
        return env


def read_version(root: Path) -> tuple[int, int] | None:
    """(major, minor) from ``odoo/release.py`` without importing it."""
    try:
        text = (root / "odoo" / "release.py").read_text(encoding="utf-8")
    except OSError:
        return None
    match = _VERSION_RE.search(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def tree_root_above(path: Path) -> Path | None:
    """The nearest folder at or above ``path`` that holds ``odoo/release.py``."""
    for candidate in (path, *path.parents):
        if (candidate / "odoo" / "release.py").is_file():
            return candidate
    return None


def launcher_in(root: Path) -> Path | None:
    for relative in ("odoo-bin", "setup/odoo"):
        if (root / relative).is_file():
            return root / relative
    return None


def _tree(root: Path, found_by: str, launcher: Path | None = None, **kw) -> OdooTree | None:
    version = read_version(root)
    if version is None:
        return None
    return OdooTree(root, version, found_by, launcher or launcher_in(root), **kw)


def on_path(name: str, environ: Mapping[str, str]) -> Path | None:
    """Like `command -v`: the first ``name`` on PATH, executable or not.

    Odoo's package ships its launcher (setup/odoo) without the executable bit, and a symlink to
    it is still run as `python odoo-bin`; shutil.which() would not see it.
    """
    for folder in environ.get("PATH", os.defpath).split(os.pathsep):
        candidate = Path(folder or ".") / name
        if candidate.is_file():
            return candidate
    return None


def find_odoo(
    environ: Mapping[str, str] | None = None,
    find_spec: Callable[[str], object] = importlib.util.find_spec,
) -> OdooTree | None:
    """Discover the Odoo tree (see the module docstring); None when there is none.

    Raises OdooNotFoundError when ODOO_PATH is set but wrong: a typo there should not
    silently fall back to another Odoo.
    """
    environ = os.environ if environ is None else environ
    explicit = environ.get("ODOO_PATH", "").strip()
    if explicit:
        start = Path(explicit).expanduser().resolve()
        root = tree_root_above(start)
        tree = _tree(root, "ODOO_PATH") if root else None
        if tree is None:
            raise OdooNotFoundError(f"ODOO_PATH={explicit} holds no odoo/release.py")
        return tree

    binary = on_path("odoo-bin", environ)
    if binary:
        resolved = binary.resolve()
        root = tree_root_above(resolved.parent)
        if root is not None:
            return _tree(root, "odoo-bin on PATH", launcher=resolved)

    return _importable_tree(find_spec)


def find_odoo_trees(
    environ: Mapping[str, str] | None = None,
    find_spec: Callable[[str], object] = importlib.util.find_spec,
) -> dict[int, OdooTree]:
    """The Odoo trees found, by series (major version), each series at most once.

    ``ODOO<major>_PATH`` names the tree of one series (an error when it holds another series or
    none); then the tree ``find_odoo`` finds fills its series' place if that is still free.
    Series the addon does not support are left out (the callers say so).
    """
    environ = os.environ if environ is None else environ
    trees: dict[int, OdooTree] = {}
    for major in SUPPORTED_MAJORS:
        variable = f"ODOO{major}_PATH"
        explicit = environ.get(variable, "").strip()
        if not explicit:
            tree = _series_launcher_tree(major, environ)
            if tree is not None:
                trees[major] = tree
            continue
        root = tree_root_above(Path(explicit).expanduser().resolve())
        tree = _tree(root, variable) if root else None
        if tree is None:
            raise OdooNotFoundError(f"{variable}={explicit} holds no odoo/release.py")
        if tree.major != major:
            raise OdooNotFoundError(
                f"{variable}={explicit} holds Odoo {tree.version_label}, not {major}.0"
            )
        trees[major] = tree
    general = find_odoo(environ, find_spec)
    if general is not None:
        trees.setdefault(general.major, general)
    return dict(sorted(trees.items()))


def _series_launcher_tree(major: int, environ: Mapping[str, str]) -> OdooTree | None:
    """The tree of ``odoo<major>-bin`` on PATH (e.g. ``odoo19-bin``, a link to a 19.0 tree's
    launcher), when it is one of that series: how a machine with two trees names the second
    one without an environment variable, as ``odoo-bin`` names the first."""
    binary = on_path(f"odoo{major}-bin", environ)
    if binary is None:
        return None
    resolved = binary.resolve()
    root = tree_root_above(resolved.parent)
    tree = _tree(root, f"odoo{major}-bin on PATH", launcher=resolved) if root else None
    return tree if tree is not None and tree.major == major else None


def demo_tree(trees: Mapping[int, OdooTree], series: int | None = None) -> OdooTree | None:
    """The tree `make run` takes: that ``series``, else the oldest supported series found (the
    one the suite runs first)."""
    if series is not None:
        return trees.get(series)
    return next((trees[m] for m in SUPPORTED_MAJORS if m in trees), None)


def _importable_tree(find_spec: Callable[[str], object]) -> OdooTree | None:
    try:
        spec = find_spec("odoo")
    except (ImportError, ValueError):
        return None
    # A namespace `odoo` (e.g. from an installed addon alone) has no release.py: not Odoo.
    for location in getattr(spec, "submodule_search_locations", None) or ():
        package = Path(location)
        if (package / "release.py").is_file():
            return _tree(package.parent, "importable odoo", on_sys_path=True)
    return None


# --- installing what Odoo needs -------------------------------------------------------------


def run_command(cmd: Sequence[str], *, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """Run a command given as a list, never through a shell; ``check`` fails on non-zero."""
    return subprocess.run(list(cmd), check=check, **kwargs)  # noqa: S603


def say(message: str) -> None:
    print(message, flush=True)


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def is_debian() -> bool:
    return Path("/etc/debian_version").is_file() and shutil.which("apt-get") is not None


def missing_debian_packages(names: Sequence[str]) -> list[str]:
    missing = []
    for name in names:
        probe = run_command(
            ["dpkg-query", "-W", "-f=${Status}", name], check=False, capture_output=True, text=True
        )
        if "install ok installed" not in probe.stdout:
            missing.append(name)
    return missing


_apt_updated = False


def ensure_debian_packages(names: Sequence[str], purpose: str) -> bool:
    """apt-get install what is missing of ``names``; True when all are (now) installed."""
    global _apt_updated  # noqa: PLW0603 - `apt-get update` once per run is the point
    if not names:
        return True
    if not is_debian():
        say(
            f"system packages for {purpose}: not a Debian system, skipped (install the "
            f"equivalents of {' '.join(names)} yourself if a step fails)"
        )
        return False
    missing = missing_debian_packages(names)
    if not missing:
        return True
    if not is_root():
        say(
            f"system packages for {purpose}: not root, skipped; missing: {' '.join(missing)} "
            "(sudo apt-get install them if a step fails)"
        )
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if not _apt_updated:
        say("apt-get update")
        run_command(["apt-get", "update", "-qq"], env=env)
        _apt_updated = True
    say(f"apt-get install {' '.join(missing)}  ({purpose})")
    run_command(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], env=env)
    return True


def browser_present(which: Callable[[str], str | None] = shutil.which) -> bool:
    return any(which(name) for name in BROWSERS)


def ensure_browser() -> None:
    """Chromium for the HttpCase browser tours (Odoo skips them when no browser is found)."""
    if not browser_present():
        ensure_debian_packages(["chromium"], "the browser tests")


def _stamp_prefix(tree: OdooTree) -> str:
    return f"odoo{tree.major}-requirements-"


def _requirements_stamp(tree: OdooTree, extras: Sequence[str], python: str) -> Path:
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(tree.requirements.read_bytes())
    digest.update("\0".join([python, *extras]).encode())
    # A venv recreated at the same path gets a new pyvenv.cfg: the stamp must not survive it.
    venv_cfg = Path(python).parent.parent / "pyvenv.cfg"
    if venv_cfg.exists():
        digest.update(str(venv_cfg.stat().st_mtime_ns).encode())
    return RUN_DIR / f"{_stamp_prefix(tree)}{digest.hexdigest()[:16]}.stamp"


def pip_environ() -> dict[str, str]:
    RUN_DIR.mkdir(exist_ok=True)
    constraints = RUN_DIR / "pip-build-constraints.txt"
    constraints.write_text(BUILD_CONSTRAINTS, encoding="utf-8")
    return {
        **os.environ,
        "PIP_CONSTRAINT": str(constraints),
        "PIP_BUILD_CONSTRAINT": str(constraints),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def pip_install(args: Sequence[str], python: str = sys.executable) -> None:
    run_command([python, "-m", "pip", "install", "--quiet", *args], env=pip_environ())


def ensure_venv(tree: OdooTree) -> str:
    """The interpreter that runs ``tree``; a series' own venv is created when missing."""
    venv = tree.venv
    if venv is not None and not (venv / "bin" / "python").exists():
        say(f"creating {venv.relative_to(REPO)} for Odoo {tree.version_label}")
        RUN_DIR.mkdir(exist_ok=True)
        # From a venv, `-m venv` builds on the base interpreter: the same Python as .venv.
        run_command([sys.executable, "-m", "venv", str(venv)])
    return tree.python


def ensure_odoo_requirements(tree: OdooTree, extras: Sequence[str] = ()) -> str:
    """Install Odoo's requirements.txt (and ``extras``) into the tree's interpreter, once;
    returns that interpreter."""
    python = ensure_venv(tree)
    if tree.venv is not None:  # not the project's .venv: the addon's own needs too
        extras = (*extras, *ADDON_REQUIREMENTS)
    if not tree.requirements.is_file():
        say(f"{tree.requirements} not found: assuming Odoo's requirements are installed")
        return python
    stamp = _requirements_stamp(tree, extras, python)
    if stamp.exists():
        return python
    ensure_debian_packages(BUILD_PACKAGES, "building Odoo's Python requirements")
    say(f"pip install -r {tree.requirements} (once per requirements file; ~1-2 min when new)")
    pip_install(["-r", str(tree.requirements)], python)
    if extras:
        pip_install(extras, python)
    for old in RUN_DIR.glob(f"{_stamp_prefix(tree)}*.stamp"):
        old.unlink()
    stamp.write_text(f"{tree.root}\n", encoding="utf-8")
    return python


def ensure_runner_psycopg2() -> None:
    """psycopg2 in this interpreter, which talks to PostgreSQL for the runners: it comes with
    Odoo's requirements when the tree runs in the project's venv, not when it has its own."""
    if importlib.util.find_spec("psycopg2") is None:
        pip_install(["psycopg2-binary"])


# --- configuration ----------------------------------------------------------------------------


def write_odoo_config(path: Path, tree: OdooTree, options: Mapping[str, object]) -> Path:
    """Write an Odoo config file (under .run/, never committed) with the project's addons."""
    parser = configparser.ConfigParser(interpolation=None)
    addons = ",".join(str(p) for p in tree.addons_paths(REPO))
    parser["options"] = {
        "addons_path": addons,
        "data_dir": str(DATA_DIR),
        **{
            key: _config_value(value)
            for key, value in options.items()
            # A connection setting left out is libpq's default, as "False" is for 18.0; 19.0
            # warns about "False" in an option that is not a boolean.
            if not (key.startswith("db_") and value in (None, False))
        },
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        parser.write(handle)
    path.chmod(0o600)
    return path


def _config_value(value: object) -> str:
    if value is None or value is False:
        return "False"
    if value is True:
        return "True"
    return str(value)


def current_user() -> str:
    return getpass.getuser()
