"""Packaging for kommo_connector.

One distribution carries two things:

* ``kommo_api``: the Odoo-free client of Kommo's REST API v4, with its emulator
  (``kommo_api.testing``);
* the addon, as the ``odoo.addons.kommo_connector`` package, the layout that
  setuptools-odoo and whool give to addons published on PyPI. Odoo itself is not a
  requirement: Odoo is not pip-installable everywhere, and deployments that run Odoo from
  source keep using their addons path.

One wheel installs into an Odoo 18.0 or 19.0 environment alike: the addon's source serves both
series, so its version is the manifest's, without a series ("1.2.0"; Odoo records it as
18.0.1.2.0 or 19.0.1.2.0). setuptools-odoo and whool would name a wheel per series
(odoo-addon-<name>==18.0.x, requiring odoo 18.0); README "Odoo 18 and 19" says why not here.
"""

import ast
import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
ADDON = "kommo_connector"


def _manifest():
    return ast.literal_eval((HERE / ADDON / "__manifest__.py").read_text(encoding="utf-8"))


def _addon_packages():
    """The addon's Python packages, named as they live under ``odoo.addons``."""
    addon_dir = HERE / ADDON
    subpackages = find_packages(where=str(addon_dir))
    packages = [f"odoo.addons.{ADDON}"] + [f"odoo.addons.{ADDON}.{sub}" for sub in subpackages]
    return packages, {f"odoo.addons.{ADDON}": ADDON}


addon_packages, addon_package_dir = _addon_packages()

setup(
    name="kommo-connector",
    version=_manifest()["version"],
    description=(
        "Kommo CRM (amoCRM) connector for Odoo 18 and 19 repair orders, with an Odoo-free client"
    ),
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="LGPL-3",
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["kommo_api", "kommo_api.*"]) + addon_packages,
    package_dir=addon_package_dir,
    include_package_data=True,
    # The emulator's CONTRACT.md (the source of each behaviour) travels with it.
    package_data={f"odoo.addons.{ADDON}": ["**/*"], "kommo_api.testing": ["*.md"]},
    install_requires=[
        "requests>=2.25",
        "phonenumbers>=8.12",
    ],
    extras_require={
        # The emulator is a test and demo tool; Werkzeug comes with Odoo anyway.
        "testing": ["Werkzeug>=2.0"],
        "test": [
            "Werkzeug>=2.0",
            "pytest>=7",
            "pytest-cov>=4",
            "freezegun>=1.1",
            "hypothesis>=6",
            # tests/test_packaging.py builds the wheel without build isolation (no network).
            "wheel",
        ],
        "lint": [
            "ruff==0.17.6",
            # pylint-odoo: OCA's pin for 19.0 (oca-addons-repo-template), the first series whose
            # pin knows 19.0; it checks 18.0 as well, so one pin serves both series. pylint:
            # the last 3.3 release (pylint-odoo 9.3 requires 3.3.*).
            # oca-odoo-pre-commit-hooks: OCA's pin for 18.0; the 19.0 one (0.1.7) requires polib
            # 1.2, and Odoo 18 and 19 both pin polib 1.1.1 (README "Quality gates").
            "pylint==3.3.9",
            "pylint-odoo==9.3.15",
            "oca-odoo-pre-commit-hooks==0.0.33",
        ],
    },
    classifiers=[
        "Framework :: Odoo",
        "Framework :: Odoo :: 18.0",
        "Framework :: Odoo :: 19.0",
        "License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",
        "Programming Language :: Python :: 3",
    ],
)
