"""``make screenshots``: the tours of the shop's screens, photographed where they mark a
screen (``screenshot()`` steps, kommo_tour_screenshot.js), into static/description/ where the
README and index.html show them. Not part of the suite: ``--test-tags kommo_screenshots``."""

import base64
import logging
import unittest
from pathlib import Path
from unittest.mock import patch

from odoo.modules.module import get_module_path
from odoo.tests import tagged
from odoo.tests.common import ChromeBrowser
from odoo.tools import config

from . import test_tour_connect, test_tour_daily_use

_logger = logging.getLogger(__name__)

SIGNAL = "kommo_screenshot:"
TAG = "kommo_screenshots"


class ScreenshotMixin:
    """Runs a tour with the cookie its ``screenshot()`` steps look for, and saves a PNG of
    the page each time one of them names its screen on the console."""

    browser_size = "1366x900"

    @classmethod
    def setUpClass(cls):
        # Only when asked for by tag: a runner that ignores Odoo's tags (pytest-odoo) would
        # otherwise rewrite the pictures of the source tree.
        if TAG not in (config["test_tags"] or ""):
            raise unittest.SkipTest(f"screenshots are taken by `make screenshots` ({TAG})")
        super().setUpClass()

    def setUp(self):
        super().setUp()
        self.saved = []

    def browser_js(self, url_path, code, ready="", login=None, timeout=60, cookies=None, **kw):
        handle_console = ChromeBrowser._handle_console
        save = self._save_screenshot

        def handle_console_and_shoot(browser, **params):
            first = (params.get("args") or [{}])[0].get("value")
            if params.get("type") == "log" and isinstance(first, str) and first.startswith(SIGNAL):
                name = first.removeprefix(SIGNAL)
                future = browser._websocket_send(
                    "Page.captureScreenshot", params={"format": "png"}, with_future=True
                )
                future.add_done_callback(lambda answer: save(name, answer))
            return handle_console(browser, **params)

        cookies = {**(cookies or {}), "kommo_screenshots": "1"}
        with patch.object(ChromeBrowser, "_handle_console", handle_console_and_shoot):
            return super().browser_js(
                url_path, code, ready=ready, login=login, timeout=timeout, cookies=cookies, **kw
            )

    def _save_screenshot(self, name, answer):
        path = Path(get_module_path("kommo_connector")) / "static" / "description" / f"{name}.png"
        path.write_bytes(base64.b64decode(answer.result()["data"]))
        self.saved.append(name)
        _logger.info("screenshot %s saved in %s", name, path)

    def assertSaved(self, *names):
        self.assertEqual(sorted(self.saved), sorted(names))


@tagged("-standard", TAG, "post_install", "-at_install")
class TestConnectScreens(ScreenshotMixin, test_tour_connect.TestConnectTour):
    def test_an_administrator_connects_kommo_from_the_settings(self):
        result = super().test_an_administrator_connects_kommo_from_the_settings()
        self.assertSaved("account_not_connected")
        return result


@tagged("-standard", TAG, "post_install", "-at_install")
class TestDailyUseScreens(ScreenshotMixin, test_tour_daily_use.TestDailyUseTour):
    def test_the_initial_sync_wizard(self):
        result = super().test_the_initial_sync_wizard()
        self.assertSaved("initial_sync_preview", "account_connected")
        return result

    def test_the_bulk_sync_from_the_repair_list(self):
        result = super().test_the_bulk_sync_from_the_repair_list()
        self.assertSaved("repair_list_filters", "repair_list_bulk_sync")
        return result

    def test_the_failed_sync_banner_and_its_retry(self):
        result = super().test_the_failed_sync_banner_and_its_retry()
        self.assertSaved("repair_form_banner")
        return result
