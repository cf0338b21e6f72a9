import threading
import time
from unittest.mock import patch

from odoo.tests import HttpCase, tagged
from odoo.tests.common import ChromeBrowser

from kommo_api.testing import KommoEmulator

from ..controllers.main import KommoController
from .common import KommoEmulatorMixin

# The integration the tour pastes into the account form (kommo_connect_tour.js).
INTEGRATION_ID = "odoo-tour-integration"
SECRET_KEY = "odoo-tour-secret-key"

PRESS_ALLOW = """(() => {
    const allow = document.getElementById("allow");
    if (!allow) { return false; }
    allow.click();
    return true;
})()"""


@tagged("post_install", "-at_install")
class TestConnectTour(KommoEmulatorMixin, HttpCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emu = KommoEmulator(seed="demo", rate_limit=None).start()
        cls.addClassCleanup(cls.emu.stop)
        cls.kommo_app = cls.emu.register_app(
            redirect_uri=cls.base_url() + KommoController._oauth_callback_url,
            client_id=INTEGRATION_ID,
            client_secret=SECRET_KEY,
        )
        # The one test-specific setting: Kommo's authorize page is the emulator's.
        cls.account = cls.env["kommo.account"].create(
            {"name": "Kommo", "authorize_url": cls.emu.authorize_url}
        )

    def press_allow_in_kommo(self, browsers, pressed, timeout=60):
        """What the administrator does on Kommo's page: the tour cannot reach another origin,
        so the test presses Allow in the same browser once the page is there."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not pressed.is_set():
            if self.emu.calls("GET", "/oauth") and browsers:
                answer = browsers[-1]._websocket_request(
                    "Runtime.evaluate", params={"expression": PRESS_ALLOW, "returnByValue": True}
                )
                if answer and answer["result"].get("value") is True:
                    pressed.set()
                    return
            time.sleep(0.2)

    def test_an_administrator_connects_kommo_from_the_settings(self):
        browsers, pressed = [], threading.Event()
        open_browser = ChromeBrowser.__init__

        def remember_browser(browser, *args, **kwargs):
            open_browser(browser, *args, **kwargs)
            browsers.append(browser)

        allow = threading.Thread(
            target=self.press_allow_in_kommo, args=(browsers, pressed), daemon=True
        )
        allow.start()
        with patch.object(ChromeBrowser, "__init__", remember_browser):
            self.start_tour("/odoo/settings", "kommo_connector_connect", login="admin")
        allow.join(timeout=5)
        self.assertTrue(pressed.is_set())
        self.account.invalidate_recordset()
        self.assertEqual(self.account.state, "connected")
        self.assertEqual(self.account.kommo_account_name, "Oficina Demo")
        self.assertEqual(self.account.client_id, INTEGRATION_ID)
