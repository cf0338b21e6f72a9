"""Finding and preparing an Odoo 18 source tree for the project's runners.

Shared by ``odoo_suite.py`` (``make test-odoo``) and ``run_demo.py`` (``make run``). Odoo is
not on PyPI and its location differs per machine, so nothing here is hard-coded: the tree is
discovered at run time, in this order:

1. ``ODOO_PATH``: a folder of the tree (or anything inside it, e.g. its ``odoo-bin``);
2. ``odoo-bin`` on ``PATH``, resolved through symlinks and walked up to the folder holding
   ``odoo/release.py`` (a package layout has its launcher at ``<tree>/setup/odoo``, a git
   checkout has ``odoo-bin`` at the top);
3. an importable ``odoo`` package.
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
SUPPORTED_MAJOR = 18

# pip's own constraint for building Odoo's pins: cbor2 5.4.2 (in requirements.txt) builds only
# with setuptools < 81, and recent pip applies PIP_BUILD_CONSTRAINT (not PIP_CONSTRAINT) to
# isolated build environments, so both must point at it.
BUILD_CONSTRAINTS = "setuptools<81\n"
# setuptools: the venv's own (65 on Python 3.11) has a pkg_resources that cannot find
# zope.interface >= 7 (its dist-info is named zope_interface-*), so gevent 22.10, which loads
# its plugins through pkg_resources, dies at start and prefork Odoo restarts its websocket
# process about once a second. pkg_resources is gone from setuptools 81.
SUITE_EXTRAS = ("pytest-odoo", "websocket-client", "setuptools>=70,<81")

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


class NoOdoo18(Exception):  # noqa: N818 - a state the runners report, not a failure
    """No Odoo was found, or one of another version: the runners that need Odoo 18 skip (or
    refuse to start) and say why."""


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
    def requirements(self) -> Path:
        return self.root / "requirements.txt"

    def addons_paths(self, *extra: Path) -> list[Path]:
        # A git checkout keeps most modules (repair, mail ...) in <tree>/addons.
        paths = [self.root / "odoo" / "addons"]
        if (self.root / "addons").is_dir():
            paths.append(self.root / "addons")
        return [*paths, *extra]

    def command(self, python: str = sys.executable) -> list[str]:
        """The command line that starts Odoo's CLI (arguments are appended by the caller)."""
        if self.launcher is not None:
            return [python, str(self.launcher)]
        return [python, "-m", "odoo"]

    def environ(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        # The official launcher sets TZ before anything imports time; `-m odoo` does not.
        env["TZ"] = "UTC"
        if not self.on_sys_path:
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(self.root), env.get("PYTHONPATH", "")) if p
            )
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


def find_odoo_18() -> OdooTree:
    """The Odoo 18 tree ``find_odoo`` finds. Raises NoOdoo18 saying what to set when there is
    none or it is another version, and OdooNotFoundError when ODOO_PATH is wrong."""
    tree = find_odoo()
    if tree is None:
        raise NoOdoo18("no Odoo 18 found (set ODOO_PATH=/path/to/odoo-18 or put odoo-bin on PATH)")
    if tree.version[0] != 18:
        raise NoOdoo18(
            f"Odoo {tree.version_label} at {tree.root} is not Odoo 18 "
            "(set ODOO_PATH=/path/to/odoo-18)"
        )
    return tree


def odoo_18_or_say(runner: str) -> tuple[OdooTree | None, int]:
    """``(tree, 0)`` with Odoo 18; else ``(None, exit code)`` after the runner's closing line:
    ``*** <runner> SKIPPED: ... ***`` and 0 without Odoo 18 (CI passes, loudly), ``*** <runner>
    FAILED: ... ***`` and 2 when ODOO_PATH is wrong (a typo must not pass)."""
    try:
        return find_odoo_18(), 0
    except OdooNotFoundError as exc:
        say(f"*** {runner} FAILED: finding Odoo: {exc} ***")
        return None, 2
    except NoOdoo18 as exc:
        say(f"*** {runner} SKIPPED: {exc} ***")
        return None, 0


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


def _requirements_stamp(tree: OdooTree, extras: Sequence[str], python: str) -> Path:
    digest = hashlib.sha1(usedforsecurity=False)
    digest.update(tree.requirements.read_bytes())
    digest.update("\0".join([python, *extras]).encode())
    # A venv recreated at the same path gets a new pyvenv.cfg: the stamp must not survive it.
    venv_cfg = Path(sys.prefix) / "pyvenv.cfg"
    if venv_cfg.exists():
        digest.update(str(venv_cfg.stat().st_mtime_ns).encode())
    return RUN_DIR / f"odoo-requirements-{digest.hexdigest()[:16]}.stamp"


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


def ensure_odoo_requirements(
    tree: OdooTree, extras: Sequence[str] = (), python: str = sys.executable
) -> None:
    """Install Odoo's requirements.txt (and ``extras``) into this interpreter, once."""
    if not tree.requirements.is_file():
        say(f"{tree.requirements} not found: assuming Odoo's requirements are installed")
        return
    stamp = _requirements_stamp(tree, extras, python)
    if stamp.exists():
        return
    ensure_debian_packages(BUILD_PACKAGES, "building Odoo's Python requirements")
    say(f"pip install -r {tree.requirements} (once per requirements file; ~1-2 min when new)")
    pip_install(["-r", str(tree.requirements)], python)
    if extras:
        pip_install(extras, python)
    for old in RUN_DIR.glob("odoo-requirements-*.stamp"):
        old.unlink()
    stamp.write_text(f"{tree.root}\n", encoding="utf-8")


# --- configuration ----------------------------------------------------------------------------


def write_odoo_config(path: Path, tree: OdooTree, options: Mapping[str, object]) -> Path:
    """Write an Odoo config file (under .run/, never committed) with the project's addons."""
    parser = configparser.ConfigParser(interpolation=None)
    addons = ",".join(str(p) for p in tree.addons_paths(REPO))
    parser["options"] = {
        "addons_path": addons,
        "data_dir": str(DATA_DIR),
        **{key: _config_value(value) for key, value in options.items()},
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
