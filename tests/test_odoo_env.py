"""How the runners find Odoo and read its test log (scripts/odoo_env.py, odoo_suite.py).

Odoo-free: every Odoo tree here is a fake one made of the few files discovery looks at.
"""

import configparser
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
sys.path.insert(0, str(SCRIPTS))

import odoo_env  # noqa: E402
import odoo_pg  # noqa: E402
import odoo_suite  # noqa: E402
from odoo_env import OdooNotFoundError, find_odoo  # noqa: E402

RELEASE_18 = "version_info = (18, 0, 0, FINAL, 0, '')\n"


def nothing_importable(_name):
    return None


def make_tree(base: Path, layout: str = "package", release: str = RELEASE_18) -> Path:
    """A fake Odoo tree: odoo/release.py plus the launcher where that layout keeps it."""
    (base / "odoo" / "addons").mkdir(parents=True)
    (base / "odoo" / "release.py").write_text(release)
    if layout == "package":
        (base / "setup").mkdir()
        (base / "setup" / "odoo").write_text("import odoo\n")  # not executable, like upstream's
    else:
        (base / "odoo-bin").write_text("import odoo\n")
        (base / "addons").mkdir()
    return base


def link_on_path(bin_dir: Path, target: Path) -> dict:
    bin_dir.mkdir(parents=True, exist_ok=True)
    (bin_dir / "odoo-bin").symlink_to(target)
    return {"PATH": str(bin_dir)}


# --- discovery ---------------------------------------------------------------------------------


def test_odoo_path_names_the_tree(tmp_path):
    tree = make_tree(tmp_path / "odoo18")
    found = find_odoo({"ODOO_PATH": str(tree), "PATH": ""}, nothing_importable)
    assert (found.root, found.version, found.found_by) == (tree, (18, 0), "ODOO_PATH")


def test_odoo_path_may_point_at_a_file_inside_the_tree(tmp_path):
    tree = make_tree(tmp_path / "odoo18", layout="git")
    found = find_odoo({"ODOO_PATH": str(tree / "odoo-bin"), "PATH": ""}, nothing_importable)
    assert found.root == tree


def test_odoo_path_wins_over_odoo_bin_on_path(tmp_path):
    chosen = make_tree(tmp_path / "chosen")
    other = make_tree(tmp_path / "other")
    environ = {"ODOO_PATH": str(chosen), **link_on_path(tmp_path / "bin", other / "setup/odoo")}
    assert find_odoo(environ, nothing_importable).root == chosen


def test_a_wrong_odoo_path_is_an_error_not_a_fallback(tmp_path):
    other = make_tree(tmp_path / "other")
    environ = {"ODOO_PATH": str(tmp_path / "typo"), **link_on_path(tmp_path / "bin", other)}
    with pytest.raises(OdooNotFoundError, match="typo"):
        find_odoo(environ, nothing_importable)


def test_odoo_bin_symlink_to_a_package_launcher_walks_up_to_the_tree(tmp_path):
    tree = make_tree(tmp_path / "opt" / "odoo18", layout="package")
    found = find_odoo(link_on_path(tmp_path / "bin", tree / "setup" / "odoo"), nothing_importable)
    assert (found.root, found.found_by) == (tree, "odoo-bin on PATH")
    assert found.launcher == tree / "setup" / "odoo"


def test_odoo_bin_of_a_git_checkout_is_found_through_a_chain_of_links(tmp_path):
    tree = make_tree(tmp_path / "src" / "odoo", layout="git")
    (tmp_path / "intermediate").symlink_to(tree / "odoo-bin")
    found = find_odoo(link_on_path(tmp_path / "bin", tmp_path / "intermediate"), nothing_importable)
    assert (found.root, found.launcher) == (tree, tree / "odoo-bin")


def test_git_checkout_adds_its_top_level_addons_folder(tmp_path):
    tree = make_tree(tmp_path / "odoo", layout="git")
    found = find_odoo({"ODOO_PATH": str(tree), "PATH": ""}, nothing_importable)
    assert found.addons_paths(tmp_path / "repo") == [
        tree / "odoo" / "addons",
        tree / "addons",
        tmp_path / "repo",
    ]


def test_importable_odoo_is_the_last_resort(tmp_path):
    tree = make_tree(tmp_path / "site" / "odoo18")
    spec = SimpleNamespace(submodule_search_locations=[str(tree / "odoo")])
    found = find_odoo({"PATH": str(tmp_path / "empty")}, lambda name: spec)
    assert (found.root, found.found_by, found.on_sys_path) == (tree, "importable odoo", True)


def test_an_odoo_bin_outside_any_tree_falls_through_to_importable_odoo(tmp_path):
    stray = tmp_path / "stray-odoo-bin"
    stray.write_text("#!/bin/sh\n")
    tree = make_tree(tmp_path / "site" / "odoo18")
    spec = SimpleNamespace(submodule_search_locations=[str(tree / "odoo")])
    found = find_odoo(link_on_path(tmp_path / "bin", stray), lambda name: spec)
    assert found.found_by == "importable odoo"


def test_a_namespace_odoo_without_release_py_is_not_odoo(tmp_path):
    (tmp_path / "ns" / "odoo" / "addons").mkdir(parents=True)
    spec = SimpleNamespace(submodule_search_locations=[str(tmp_path / "ns" / "odoo")])
    assert find_odoo({"PATH": ""}, lambda name: spec) is None


def test_nothing_found_gives_none(tmp_path):
    assert find_odoo({"PATH": str(tmp_path)}, nothing_importable) is None


def test_the_version_is_read_without_importing_odoo(tmp_path):
    tree = make_tree(tmp_path / "odoo17", release="version_info = (17, 0, 0, FINAL, 0, '')\n")
    assert find_odoo({"ODOO_PATH": str(tree), "PATH": ""}, nothing_importable).version == (17, 0)


def test_a_saas_release_reads_as_its_major_version(tmp_path):
    tree = make_tree(tmp_path / "saas", release="version_info = ('saas~18', 2, 0, FINAL, 0, '')\n")
    assert odoo_env.read_version(tree) == (18, 2)


# --- how Odoo is started -----------------------------------------------------------------------


def test_a_source_tree_goes_first_on_pythonpath_then_the_repository_and_runs_in_utc(tmp_path):
    tree = make_tree(tmp_path / "odoo18")
    found = find_odoo({"ODOO_PATH": str(tree), "PATH": ""}, nothing_importable)
    env = found.environ({"PYTHONPATH": "/elsewhere"})
    assert env["PYTHONPATH"].split(":") == [str(tree), str(odoo_env.REPO), "/elsewhere"]
    assert env["TZ"] == "UTC"
    assert found.command("python") == ["python", str(tree / "setup" / "odoo")]


def test_an_importable_odoo_without_launcher_runs_as_a_module(tmp_path):
    package = tmp_path / "site" / "odoo"
    package.mkdir(parents=True)
    (package / "release.py").write_text(RELEASE_18)
    spec = SimpleNamespace(submodule_search_locations=[str(package)])
    found = find_odoo({"PATH": ""}, lambda name: spec)
    assert found.command("python") == ["python", "-m", "odoo"]
    assert found.environ({})["PYTHONPATH"] == str(odoo_env.REPO)


def test_the_config_file_names_both_addons_folders_and_no_connection_default(tmp_path, monkeypatch):
    monkeypatch.setattr(odoo_env, "RUN_DIR", tmp_path / "run")
    tree = make_tree(tmp_path / "odoo18")
    found = find_odoo({"ODOO_PATH": str(tree), "PATH": ""}, nothing_importable)
    path = odoo_env.write_odoo_config(
        tmp_path / "run" / "x.conf", found, {"db_host": False, "db_password": False}
    )
    options = configparser.ConfigParser(interpolation=None)
    options.read(path)
    addons = options["options"]["addons_path"].split(",")
    assert addons == [str(tree / "odoo" / "addons"), str(odoo_env.REPO)]
    # libpq's defaults: 19.0 warns about "False" in a setting that is not a boolean
    assert "db_password" not in options["options"]
    assert "db_host" not in options["options"]
    assert path.stat().st_mode & 0o077 == 0


# --- several series ---------------------------------------------------------------------------

RELEASE_19 = "version_info = (19, 0, 0, FINAL, 0, '')\n"


def test_odoo19_path_adds_the_19_tree_to_the_one_found_the_usual_way(tmp_path):
    tree18 = make_tree(tmp_path / "odoo18")
    tree19 = make_tree(tmp_path / "odoo19", layout="git", release=RELEASE_19)
    environ = {"ODOO_PATH": str(tree18), "ODOO19_PATH": str(tree19), "PATH": ""}
    trees = odoo_env.find_odoo_trees(environ, nothing_importable)
    assert {major: tree.root for major, tree in trees.items()} == {18: tree18, 19: tree19}
    assert trees[19].found_by == "ODOO19_PATH"
    assert trees[19].addons_paths() == [tree19 / "odoo" / "addons", tree19 / "addons"]


def test_odoo19_bin_on_path_names_the_19_tree_beside_odoo_bin(tmp_path):
    tree18 = make_tree(tmp_path / "odoo18")
    tree19 = make_tree(tmp_path / "odoo19", layout="git", release=RELEASE_19)
    environ = link_on_path(tmp_path / "bin", tree18 / "setup" / "odoo")
    (tmp_path / "bin" / "odoo19-bin").symlink_to(tree19 / "odoo-bin")
    trees = odoo_env.find_odoo_trees(environ, nothing_importable)
    assert {major: tree.root for major, tree in trees.items()} == {18: tree18, 19: tree19}
    assert trees[19].found_by == "odoo19-bin on PATH"
    assert trees[19].launcher == tree19 / "odoo-bin"


def test_odoo19_bin_leading_to_another_series_is_left_out(tmp_path):
    tree18 = make_tree(tmp_path / "odoo18")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "odoo19-bin").symlink_to(tree18 / "setup" / "odoo")
    trees = odoo_env.find_odoo_trees({"PATH": str(bin_dir)}, nothing_importable)
    assert trees == {}


def test_odoo_path_may_hold_19_alone(tmp_path):
    tree19 = make_tree(tmp_path / "odoo19", release=RELEASE_19)
    trees = odoo_env.find_odoo_trees({"ODOO_PATH": str(tree19), "PATH": ""}, nothing_importable)
    assert list(trees) == [19]
    assert odoo_env.demo_tree(trees) is trees[19]


def test_a_series_path_holding_another_series_is_an_error(tmp_path):
    tree18 = make_tree(tmp_path / "odoo18")
    with pytest.raises(OdooNotFoundError, match=r"not 19\.0"):
        odoo_env.find_odoo_trees({"ODOO19_PATH": str(tree18), "PATH": ""}, nothing_importable)


def test_the_project_series_runs_in_the_project_venv_another_in_its_own(tmp_path):
    tree18 = make_tree(tmp_path / "odoo18")
    tree19 = make_tree(tmp_path / "odoo19", release=RELEASE_19)
    environ = {"ODOO_PATH": str(tree18), "ODOO19_PATH": str(tree19), "PATH": ""}
    trees = odoo_env.find_odoo_trees(environ, nothing_importable)
    assert trees[18].python == sys.executable
    assert trees[19].python == str(odoo_env.RUN_DIR / "venv-odoo19" / "bin" / "python")
    assert trees[19].command()[0] == trees[19].python
    assert (trees[18].without_demo, trees[19].without_demo) == ("all", "True")
    assert odoo_env.demo_tree(trees) is trees[18]
    assert odoo_env.demo_tree(trees, 19) is trees[19]


def test_the_addon_requirements_of_a_series_venv_are_setup_py_install_requires():
    setup_py = (odoo_env.REPO / "setup.py").read_text(encoding="utf-8")
    for requirement in odoo_env.ADDON_REQUIREMENTS:
        assert f'"{requirement}"' in setup_py


# --- PostgreSQL -------------------------------------------------------------------------------


def test_an_online_debian_cluster_is_used_before_a_stopped_one():
    rows = [["15", "main", "5432", "down"], ["16", "other", "5433", "online"]]
    assert odoo_pg.pick_cluster(rows) == ["16", "other", "5433", "online"]


def test_with_every_cluster_down_the_newest_main_is_started():
    rows = [
        ["13", "main", "5432", "down"],
        ["15", "main", "5433", "down"],
        ["16", "x", "5434", "down"],
    ]
    assert odoo_pg.pick_cluster(rows) == ["15", "main", "5433", "down"]


def test_pg_settings_in_the_environment_are_used_as_given():
    server = odoo_pg._from_environment({"PGHOST": "db.local", "PGPORT": "6543", "PGUSER": "odoo"})
    assert server.odoo_options() == {
        "db_host": "db.local",
        "db_port": 6543,
        "db_user": "odoo",
        "db_password": False,
    }


def test_only_connection_settings_count_as_pg_settings():
    assert odoo_pg.pg_env_given({"PGPASSWORD": "x"})
    assert not odoo_pg.pg_env_given({"PGDATABASE": "postgres", "PGHOST": ""})


# --- reading Odoo's test log -------------------------------------------------------------------

PREFIX = "2026-01-01 10:00:00,000 42"


def odoo_log(*records: str) -> str:
    return "".join(f"{PREFIX} {record}\n" for record in records)


def test_a_green_run_counts_its_tests_as_passed():
    text = odoo_log(
        "INFO db odoo.tests.result: 0 failed, 0 error(s) of 12 tests when loading database 'db'"
    )
    run = odoo_suite.parse_odoo_log(text, exit_code=0, installed=True)
    assert run.ok
    assert run.summary_line() == "odoo-bin: 12 passed, 0 failed"


def test_failures_and_errors_both_count_as_failed():
    text = odoo_log(
        "ERROR db odoo.addons.kommo_connector.tests.test_a: FAIL: TestA.test_x",
        "ERROR db odoo.addons.kommo_connector.tests.test_a: ERROR: TestA.test_y",
        "ERROR db odoo.tests.result: 1 failed, 1 error(s) of 5 tests when loading database 'db'",
    )
    run = odoo_suite.parse_odoo_log(text, exit_code=1, installed=True)
    assert not run.ok
    assert run.summary_line() == "odoo-bin: 3 passed, 2 failed"


def test_an_error_logged_outside_the_tests_is_not_a_failed_test():
    text = odoo_log(
        "ERROR db odoo.sql_db: ERROR: could not serialize access due to concurrent update",
        "INFO db odoo.tests.result: 0 failed, 0 error(s) of 3 tests when loading database 'db'",
    )
    run = odoo_suite.parse_odoo_log(text, exit_code=0, installed=True)
    assert run.summary_line() == "odoo-bin: 3 passed, 0 failed"


def test_skipped_tests_are_reported_apart():
    text = odoo_log(
        "INFO db odoo.addons.kommo_connector.tests.test_tour: skipped test_tour : no browser",
        "INFO db odoo.tests.result: 0 failed, 0 error(s) of 4 tests when loading database 'db'",
    )
    run = odoo_suite.parse_odoo_log(text, exit_code=0, installed=True)
    assert run.summary_line() == "odoo-bin: 3 passed, 0 failed, 1 skipped"


def test_a_failed_test_line_fails_the_run_even_with_exit_code_zero():
    text = odoo_log("ERROR db odoo.addons.kommo_connector.tests.test_a: FAIL: TestA.test_x")
    assert not odoo_suite.parse_odoo_log(text, exit_code=0, installed=True).ok


def test_a_run_stopped_before_its_summary_fails_the_test_that_was_running():
    text = odoo_log(
        "INFO db odoo.addons.kommo_connector.tests.test_a: Starting TestA.test_x ...",
        "INFO db odoo.addons.kommo_connector.tests.test_a: Starting TestA.test_y ...",
        "INFO db odoo.addons.kommo_connector.tests.test_b: Starting TestB.test_hangs ...",
    )
    run = odoo_suite.parse_odoo_log(text, exit_code=124, installed=True)
    assert run.summary_line() == "odoo-bin: 2 passed, 1 failed"


def test_an_addon_that_did_not_install_fails_the_run():
    text = odoo_log("INFO db odoo.tests.result: 0 failed, 0 error(s) of 0 tests when loading")
    assert not odoo_suite.parse_odoo_log(text, exit_code=0, installed=False).ok


def test_no_tests_at_all_fails_the_suite_loudly(capsys):
    run = odoo_suite.OdooRun(exit_code=0, tests=0, failed=0, skipped=0, installed=True)
    assert odoo_suite._verdict(run, odoo_suite.PYTEST_NO_TESTS) is False
    assert "HAS NO TESTS YET" in capsys.readouterr().out


def test_pytest_collecting_nothing_is_tolerated_when_odoo_bin_ran_tests(capsys):
    run = odoo_suite.OdooRun(exit_code=0, tests=7, failed=0, skipped=0, installed=True)
    assert odoo_suite._verdict(run, odoo_suite.PYTEST_NO_TESTS) is True
    assert "pytest-odoo collected no tests" in capsys.readouterr().out


def test_console_shows_test_lines_and_their_tracebacks_but_not_routine_info():
    echo = odoo_suite.OdooLogEcho()
    lines = [
        f"{PREFIX} INFO db odoo.modules.loading: loading 61 modules...",
        f"{PREFIX} ERROR db odoo.addons.kommo_connector.tests.test_a: FAIL: TestA.test_x",
        "Traceback (most recent call last):",
        f"{PREFIX} INFO db odoo.modules.registry: module kommo_connector: creating tables",
    ]
    assert [echo(line) for line in lines] == [False, True, True, False]
