"""Shared fixtures of the Odoo suite: a Kommo emulator per test class, connected accounts."""

import threading
from datetime import timedelta
from unittest.mock import patch
from urllib.parse import urlsplit

from odoo import SUPERUSER_ID, Command, api, fields
from odoo.modules.registry import DummyRLock, Registry
from odoo.tests import TransactionCase, new_test_user
from odoo.tests.common import _super_send

from kommo_api.testing import KommoEmulator


class KommoEmulatorMixin:
    """Starts a Kommo emulator (demo seed) for the test class and registers our integration."""

    # The throttle's memory of recent sends lives in the test transaction and is rolled back
    # after each test, so back-to-back tests could exceed Kommo's 7 requests/s between them:
    # the emulator's limit is off here, and on where the throttle commits (KommoCommittedCase).
    emulator_options = {"rate_limit": None}

    @classmethod
    def _request_handler(cls, session, prepared, /, **kwargs):
        # Odoo's guard against external requests compares the timeout with a number, and
        # kommo_api sends (connect, read) pairs: let the emulator's loopback calls through.
        if isinstance(kwargs.get("timeout"), tuple) and urlsplit(prepared.url).hostname in (
            "127.0.0.1",
            "localhost",
        ):
            return _super_send(session, prepared, **kwargs)
        return super()._request_handler(session, prepared, **kwargs)

    @classmethod
    def start_kommo_emulator(cls, redirect_uri):
        cls.emu = KommoEmulator(seed="demo", **cls.emulator_options).start()
        cls.addClassCleanup(cls.emu.stop)
        cls.kommo_app = cls.emu.register_app(redirect_uri=redirect_uri)

    @classmethod
    def kommo_account_values(cls, env, **values):
        """An account set up for the emulator's integration, not connected yet."""
        return {
            "name": "Kommo test",
            "company_id": env.company.id,
            "host": cls.emu.host,
            "client_id": cls.kommo_app.client_id,
            "client_secret": cls.kommo_app.client_secret,
            "authorize_url": cls.emu.authorize_url,
            # A Brazilian shop: phone numbers written without +55 are Brazilian.
            "phone_country_id": env.ref("base.br").id,
            **values,
        }

    @classmethod
    def connected_values(cls, env, **values):
        """Values of an account connected with a fresh token pair from the emulator."""
        tokens = cls.emu.issue_tokens(cls.kommo_app.client_id)
        now = fields.Datetime.now()
        connected = {
            "state": "connected",
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "token_expires_at": now + timedelta(seconds=tokens["expires_in"]),
            "token_obtained_at": now,
            "kommo_account_id": cls.emu.account_id,
        }
        return cls.kommo_account_values(env, **{**connected, **values})

    def setUp(self):
        super().setUp()
        # Each test reads only its own calls (a class may start its emulator later), and
        # starts with Kommo's rate window empty: the previous test's cleanup emptied our
        # throttle's memory of its last calls, not the emulator's.
        if getattr(self, "emu", None) is not None:
            self.emu.clear_log()
            self.emu.unblock()

    def token_calls(self, grant_type=None):
        """Calls the emulator received on its token endpoint (optionally one grant type)."""
        return [
            call
            for call in self.emu.calls("POST", "/oauth2/access_token")
            if grant_type is None or (call.json or {}).get("grant_type") == grant_type
        ]


class KommoCase(KommoEmulatorMixin, TransactionCase):
    """Tests on the test transaction, with the registry in test mode (as HttpCase does) so the
    connector's own short transactions (token refresh, sync log) run inside the test's one and
    are rolled back with it."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if hasattr(cls, "registry_enter_test_mode_cls"):  # 19.0: the test case patches it
            cls.registry_enter_test_mode_cls()
        else:  # 18.0: the registry itself
            cls.registry.enter_test_mode(cls.cr)
            cls.addClassCleanup(cls.registry.leave_test_mode)
        cls.env["ir.config_parameter"].set_param("web.base.url", "http://127.0.0.1:8069")
        cls.start_kommo_emulator("http://127.0.0.1:8069/kommo/oauth/callback")
        cls.admin = cls.env.ref("base.user_admin")

    def create_account(self, connected=True, **values):
        make = self.connected_values if connected else self.kommo_account_values
        return self.env["kommo.account"].create(make(self.env, **values))

    def logs(self, account, **domain):
        return self.env["kommo.sync.log"].search(
            [("account_id", "=", account.id)] + [(k, "=", v) for k, v in domain.items()]
        )


class KommoCommittedCase(KommoEmulatorMixin, TransactionCase):
    """Tests of what happens between several Odoo workers: each worker is a thread with a
    real database cursor of its own, so the account must be committed. Every row committed
    here is deleted again at the end of the test."""

    emulator_options = {"rate_limit": 7}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        base_url = cls.env["ir.config_parameter"].get_param("web.base.url")
        cls.start_kommo_emulator(f"{base_url}/kommo/oauth/callback")
        # The test runner holds the registry lock while it runs the tests, and every new
        # Environment looks its registry up under that lock: worker threads would wait for
        # the end of the run. HttpCase swaps the lock the same way (enter_test_mode).
        registry_lock = patch.object(Registry, "_lock", DummyRLock())
        registry_lock.start()
        cls.addClassCleanup(registry_lock.stop)

    def committed_account(self, **values):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            account = env["kommo.account"].create(self.connected_values(env, **values))
            account_id = account.id
        self.addCleanup(self._delete_committed, account_id)
        return account_id

    def _delete_committed(self, account_id):
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            cr.execute("DELETE FROM kommo_rate_slot WHERE key = %s", [self.emu.host])
            env["kommo.account"].with_context(active_test=False).browse(account_id).unlink()

    def in_worker(self, account_id, work):
        """Run ``work(account)`` like an Odoo worker does: own cursor, committed at the end."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            return work(env["kommo.account"].browse(account_id))


def kommo_user(env, login="kommo_repair_user", company=None):
    """A repair user who may sync with Kommo but does not configure it."""
    company = company or env.company
    return new_test_user(
        env,
        login=login,
        groups="stock.group_stock_user,kommo_connector.group_kommo_user",
        company_id=company.id,
        company_ids=[Command.set(company.ids)],
    )


# A deadlock between workers must fail its test, not hold the whole run until CI gives up.
WORKER_TIMEOUT_SECONDS = 120


def run_workers(count, target):
    """Run ``target()`` in ``count`` threads started together; their results and errors."""
    barrier = threading.Barrier(count)
    results, errors = [], []

    def worker():
        barrier.wait()
        try:
            results.append(target())
        except Exception as exc:  # the test reports whatever a worker raised
            errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WORKER_TIMEOUT_SECONDS)
        if thread.is_alive():
            errors.append(TimeoutError(f"a worker still runs after {WORKER_TIMEOUT_SECONDS} s"))
    return results, errors
