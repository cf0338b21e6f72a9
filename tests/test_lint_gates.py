"""The lint gates bite: `scripts/lint.sh --addon DIR` passes a clean addon, and fails a copy of
kommo_connector broken in one way, naming the rule that was broken.

Each test runs the real entry point (ruff, pylint-odoo with .pylintrc-mandatory-<series> for
each series, OCA's module and .po checks) on a folder under tmp_path, so the repository itself
is never touched.
"""

import ast
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LINT = REPO / "scripts" / "lint.sh"
ADDON = REPO / "kommo_connector"
# The environment that runs these tests is the one whose lint tools are used.
VENV = Path(sys.prefix)
LINT_TOOLS = ("ruff", "pylint", "oca-checks-odoo-module", "oca-checks-po")

missing_tools = [tool for tool in LINT_TOOLS if not (VENV / "bin" / tool).exists()]
pytestmark = pytest.mark.skipif(
    bool(missing_tools) or shutil.which("bash") is None,
    reason=f"lint tools not installed in {VENV} ({', '.join(missing_tools)}): "
    "pip install -e '.[lint]' (make venv does it)",
)


def run_lint(addon_dir):
    env = {**os.environ, "VENV": str(VENV), "LINT_OPTIONAL": "0"}
    return subprocess.run(
        ["bash", str(LINT), "--addon", str(addon_dir)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )


def output_of(result):
    return result.stdout + result.stderr


def copy_of_addon(tmp_path):
    target = tmp_path / ADDON.name
    shutil.copytree(ADDON, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


# The mandatory pylint-odoo checks, named for the series they check (scripts/lint.sh): each
# series the addon claims, with OCA's configuration for that series.
PYLINT_GATES = {"pylint-odoo 18.0 (mandatory)", "pylint-odoo 19.0 (mandatory)"}


def failed_gates(result):
    """The gates named on lint.sh's closing "== lint FAILED: a, b" line."""
    for line in result.stdout.splitlines():
        if line.startswith("== lint FAILED: "):
            return line.removeprefix("== lint FAILED: ").split(", ")
    return []


def rewrite_manifest(addon_dir, change):
    """Apply `change` to the manifest dict and write it back, laid out as ruff formats it."""
    path = addon_dir / "__manifest__.py"
    manifest = ast.literal_eval(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(repr(manifest) + "\n", encoding="utf-8")
    subprocess.run(
        [
            str(VENV / "bin" / "ruff"),
            "format",
            "--quiet",
            "--config",
            str(REPO / "ruff.toml"),
            str(path),
        ],
        check=True,
    )


def add_model_file(addon_dir, imports, body):
    """``lint_gate_model.py`` in the addon: the model ``lint.gate``, importing ``imports``
    from odoo, with ``body`` (a class body, dedented) after its name and description."""
    header = (
        f"from odoo import {imports}\n\n\n"
        "class LintGate(models.Model):\n"
        '    _name = "lint.gate"\n'
        '    _description = "Lint gate"\n\n'
    )
    body = textwrap.indent(textwrap.dedent(body).strip("\n"), "    ")
    (addon_dir / "lint_gate_model.py").write_text(header + body + "\n", encoding="utf-8")


def add_data_file(addon_dir, relative_path, content):
    (addon_dir / relative_path).parent.mkdir(parents=True, exist_ok=True)
    (addon_dir / relative_path).write_text(textwrap.dedent(content).lstrip(), encoding="utf-8")
    rewrite_manifest(addon_dir, lambda m: m.setdefault("data", []).append(relative_path))


CLEAN_ADDON_FILES = {
    "__manifest__.py": """
        {
            "name": "Lint probe",
            "summary": "A minimal addon that follows every convention the gates check",
            "version": "1.0.0",
            "category": "Hidden",
            "website": "https://github.com/kommo-connector/kommo_connector",
            "author": "kommo_connector developers",
            "license": "LGPL-3",
            "depends": ["base"],
            "data": ["security/ir.model.access.csv", "views/probe_views.xml"],
            "installable": True,
        }
    """,
    "__init__.py": "from . import models\n",
    "models/__init__.py": "from . import lint_probe\n",
    "models/lint_probe.py": """
        from odoo import api, fields, models


        class LintProbe(models.Model):
            _name = "lint.probe"
            _description = "Lint probe"

            name = fields.Char(required=True)
            name_length = fields.Integer(compute="_compute_name_length")

            @api.depends("name")
            def _compute_name_length(self):
                for probe in self:
                    probe.name_length = len(probe.name or "")
    """,
    "security/ir.model.access.csv": """
        id,name,model_id:id,group_id:id,perm_read,perm_write,perm_create,perm_unlink
        access_lint_probe_user,lint.probe user,model_lint_probe,base.group_user,1,1,1,1
    """,
    "views/probe_views.xml": """
        <?xml version="1.0" encoding="utf-8"?>
        <odoo>
            <record id="view_lint_probe_list" model="ir.ui.view">
                <field name="name">lint.probe.list</field>
                <field name="model">lint.probe</field>
                <field name="arch" type="xml">
                    <list>
                        <field name="name"/>
                    </list>
                </field>
            </record>
        </odoo>
    """,
    "i18n/pt_BR.po": """
        msgid ""
        msgstr ""
        "Project-Id-Version: Odoo Server 18.0\\n"
        "Content-Type: text/plain; charset=UTF-8\\n"
        "Language: pt_BR\\n"

        #. module: lint_probe
        #: model:ir.model.fields,field_description:lint_probe.field_lint_probe__name
        msgid "Name"
        msgstr "Nome"
    """,
    "README.rst": """
        ==========
        Lint probe
        ==========

        A minimal addon for the lint gate tests.
    """,
}


def test_an_addon_that_follows_the_conventions_passes(tmp_path):
    addon = tmp_path / "lint_probe"
    for relative_path, content in CLEAN_ADDON_FILES.items():
        (addon / relative_path).parent.mkdir(parents=True, exist_ok=True)
        (addon / relative_path).write_text(textwrap.dedent(content).lstrip(), encoding="utf-8")

    result = run_lint(addon)

    assert result.returncode == 0, output_of(result)
    assert "== lint passed" in result.stdout


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        (lambda m: m.pop("license"), "manifest-required-key"),
        (lambda m: m.update(version="17.0.1.0"), "manifest-version-format"),
        # a series in the version: the other series refuses to install the addon
        (lambda m: m.update(version="18.0.1.0.0"), "manifest-version-format"),
        (lambda m: m.update(author="Someone Else"), "manifest-required-author"),
        (lambda m: m.update(license="Proprietary"), "license-allowed"),
    ],
    ids=["no-license", "bad-version", "series-version", "foreign-author", "proprietary-license"],
)
def test_a_broken_manifest_fails_naming_the_rule(tmp_path, breakage, message):
    addon = copy_of_addon(tmp_path)
    rewrite_manifest(addon, breakage)

    result = run_lint(addon)

    assert result.returncode != 0
    assert message in output_of(result)
    assert set(failed_gates(result)) >= PYLINT_GATES


def test_a_duplicated_xml_id_fails(tmp_path):
    addon = copy_of_addon(tmp_path)
    record = """
        <record id="lint_gate_duplicate" model="ir.config_parameter">
            <field name="key">kommo_connector.lint_gate</field>
            <field name="value">1</field>
        </record>
    """
    add_data_file(addon, "data/lint_gate_duplicate.xml", f"<odoo>{record}{record}</odoo>\n")

    result = run_lint(addon)

    assert result.returncode != 0
    assert "xml-duplicate-record-id" in output_of(result)
    assert "oca-checks-odoo-module" in failed_gates(result)


def test_a_compute_method_not_named_compute_fails(tmp_path):
    addon = copy_of_addon(tmp_path)
    add_model_file(
        addon,
        "fields, models",
        """
        size = fields.Integer(compute="get_size")

        def get_size(self):
            for record in self:
                record.size = 1
        """,
    )

    result = run_lint(addon)

    assert result.returncode != 0
    assert "method-compute" in output_of(result)
    assert set(failed_gates(result)) >= PYLINT_GATES


@pytest.mark.parametrize(
    ("imports", "method", "message"),
    [
        ("_, models", 'return _("Done")', "prefer-env-translation"),
        ("models", 'return self.env._("Done: %s") % self.name', "translation-not-lazy"),
    ],
    ids=["odoo-underscore", "formatted-translation"],
)
def test_a_check_of_oca_19_configuration_fails_the_19_gate_only(tmp_path, imports, method, message):
    """OCA's 19.0 configuration adds checks to 18.0's: each series is linted with its own."""
    addon = copy_of_addon(tmp_path)
    add_model_file(addon, imports, f"def action_done(self):\n    {method}")

    result = run_lint(addon)

    assert result.returncode != 0
    assert message in output_of(result)
    assert "pylint-odoo 19.0 (mandatory)" in failed_gates(result)
    assert "pylint-odoo 18.0 (mandatory)" not in failed_gates(result)


def test_a_translation_defined_twice_fails(tmp_path):
    addon = copy_of_addon(tmp_path)
    entry = '#. module: kommo_connector\nmsgid "Kommo"\nmsgstr "Kommo"\n\n'
    (addon / "i18n").mkdir(exist_ok=True)
    (addon / "i18n" / "lint_gate.po").write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n' + entry + entry,
        encoding="utf-8",
    )

    result = run_lint(addon)

    assert result.returncode != 0
    assert "po-duplicate-message-definition" in output_of(result)
    assert "oca-checks-po" in failed_gates(result)
