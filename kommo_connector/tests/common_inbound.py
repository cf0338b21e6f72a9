"""Fixtures of the inbound tests: repair orders bound to leads of the emulator, and webhook
deliveries as Kommo sends them."""

import contextlib
from datetime import datetime, timezone
from urllib.parse import urlencode

from odoo import fields
from odoo.tests import HttpCase

from kommo_api import delivery_fingerprint, parse_webhook

from .common import KommoEmulatorMixin
from .common_mapping import KommoMappingCase


def odoo_time(unix_time):
    """Kommo's unix time as Odoo stores datetimes (naive UTC)."""
    return datetime.fromtimestamp(unix_time, tz=timezone.utc).replace(tzinfo=None)


class KommoInboundMixin:
    """Needs ``create_account`` and ``emu`` (the Kommo emulator)."""

    def inbound_account(self, moves_orders=False, **values):
        """A connected account that read the demo pipelines and proposed the stage map:
        Novo = New, Diagnóstico = Confirmed, Em reparo = Under Repair, won = Repaired,
        lost = Cancelled."""
        account = self.create_account(kommo_moves_repair_order=moves_orders, **values)
        account.action_refresh_metadata()
        return account

    def stage(self, account, name):
        stage = account.pipeline_id.stage_ids.filtered(lambda stage: stage.name == name)
        self.assertEqual(len(stage), 1, f"no stage {name} in the account's pipeline")
        return stage

    def new_order(self, storable=False, **values):
        """A repair order of a customer's car; ``storable``: a stocked product, which Odoo
        only confirms when the stock is there."""
        product = self.env["product.product"].create(
            {"name": "Fiat Uno 2015", "type": "consu", "is_storable": storable}
        )
        partner = self.env["res.partner"].create({"name": "Maria Silva", "phone": "+5511987654321"})
        return self.env["repair.order"].create(
            {"product_id": product.id, "partner_id": partner.id, **values}
        )

    def bind(self, account, order, stage, lead_id=None):
        """Link ``order`` to a lead on ``stage`` as a push would leave it (a new lead in the
        emulator unless ``lead_id``)."""
        if lead_id is None:
            lead = self.emu.add_lead(
                name=order.name, pipeline_id=stage.pipeline_id.kommo_id, status_id=stage.kommo_id
            )
            lead_id, updated_at = lead["id"], lead["updated_at"]
        else:
            updated_at = self.emu.store.leads[lead_id]["updated_at"]
        values = {
            "kommo_lead_id": lead_id,
            "kommo_pipeline_id": stage.pipeline_id.kommo_id,
            "kommo_status_id": stage.kommo_id,
            "kommo_updated_at": odoo_time(updated_at),
            "sync_state": "synced",
        }
        bindings = self.env["kommo.lead.binding"]
        # The order's create hook may already have made its (pending) binding.
        binding = bindings.search([("account_id", "=", account.id), ("repair_id", "=", order.id)])
        if binding:
            binding.write(values)
        else:
            binding = bindings.create({"account_id": account.id, "repair_id": order.id, **values})
        return binding

    def bound_order(self, account, stage_name="Novo", **order_values):
        order = self.new_order(**order_values)
        return order, self.bind(account, order, self.stage(account, stage_name))

    def kommo_notes(self, order):
        """The chatter notes of ``order`` written by the connector, oldest first."""
        messages = order.message_ids.filtered(lambda message: "Kommo" in (message.body or ""))
        return messages.sorted("id").mapped("body")

    def inbound_logs(self, account):
        return self.env["kommo.sync.log"].search(
            [("account_id", "=", account.id), ("direction", "=", "inbound")]
        )


def webhook_body(
    lead_id,
    stage=None,
    *,
    action="status",
    modified_at=None,
    account_id=30000001,
    subdomain="demo",
    entity="leads",
):
    """A delivery as Kommo sends it: one ``entity[action]`` item. ``stage``: a
    kommo.pipeline.stage or Kommo's ``(pipeline_id, status_id)``; stage and time optional."""
    item = f"{entity}[{action}][0]"
    pairs = [(f"{item}[id]", lead_id)]
    if stage is not None:
        ids = stage if isinstance(stage, tuple) else (stage.pipeline_id.kommo_id, stage.kommo_id)
        pairs += [(f"{item}[pipeline_id]", ids[0]), (f"{item}[status_id]", ids[1])]
    if modified_at is not None:
        pairs += [(f"{item}[last_modified]", int(modified_at.timestamp()))]
    pairs += [("account[subdomain]", subdomain), ("account[id]", account_id)]
    return urlencode(pairs)


# The throttle's history is rolled back with each test: without a limit in the emulator,
# the calls of one test cannot be counted against the next one's.
UNLIMITED_EMULATOR = {"rate_limit": None}


class KommoInboundCase(KommoInboundMixin, KommoMappingCase):
    """Processing tests: deliveries are stored as the controller stores them, without HTTP."""

    emulator_options = UNLIMITED_EMULATOR

    def receive(self, account, body):
        """Store a delivery as the webhook controller does; the stored event."""
        return self.env["kommo.webhook.event"]._kommo_store(
            account, parse_webhook(body), body, delivery_fingerprint(body)
        )

    def receive_and_process(self, account, *bodies):
        events = self.env["kommo.webhook.event"].browse()
        for body in bodies:
            events |= self.receive(account, body)
        self.env["kommo.webhook.event"]._cron_process_events()
        return events

    def now_utc(self):
        return fields.Datetime.now().replace(tzinfo=timezone.utc)


class KommoWebhookHttpCase(KommoInboundMixin, KommoEmulatorMixin, HttpCase):
    """End to end: the emulator delivers its webhooks over HTTP to the test's Odoo server."""

    emulator_options = UNLIMITED_EMULATOR

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_kommo_emulator(f"{cls.base_url()}/kommo/oauth/callback")

    def setUp(self):
        super().setUp()
        if hasattr(self, "http_request_allow_all"):
            # 19.0 serves only the requests of the test's own browser or opener (a cookie);
            # Kommo's deliveries carry none. They wait for the test lock instead, which the
            # test lets go of while it waits for Kommo (kommo_may_deliver).
            self.http_request_allow_all = True
            self.addCleanup(setattr, self, "http_request_allow_all", False)

        def forget_subscriptions():
            with self.kommo_may_deliver():
                self.emu.wait_for_deliveries(timeout=10)
            with self.emu.store.lock:
                self.emu.store.webhooks.clear()

        self.addCleanup(forget_subscriptions)

    def kommo_may_deliver(self):
        """While Kommo's deliveries may reach the test's server: always on 18.0; on 19.0 while
        the test lets go of the test lock."""
        if hasattr(self, "allow_requests"):
            return self.allow_requests(all_requests=True)
        return contextlib.nullcontext()

    def create_account(self, **values):
        return self.env["kommo.account"].create(self.connected_values(self.env, **values))

    def subscribed_account(self, moves_orders=False):
        """An account whose webhook URL (on this test server) is registered in Kommo."""
        account = self.inbound_account(moves_orders=moves_orders)
        account.action_register_webhook()
        self.env.flush_all()  # the server's requests read the account from the database
        return account

    def post_delivery(self, url, body):
        self.env.flush_all()
        return self.url_open(
            url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}
        )

    def wait_for_kommo(self):
        """Until the emulator delivered everything it had to send; the deliveries."""
        with self.kommo_may_deliver():
            delivered = self.emu.wait_for_deliveries(timeout=20)
        self.assertTrue(delivered, "Kommo's deliveries hang")
        self.env.invalidate_all()
        return self.emu.deliveries

    def process_webhooks(self):
        self.env["kommo.webhook.event"]._cron_process_events()
        self.env.invalidate_all()

    def events(self, account):
        return self.env["kommo.webhook.event"].search([("account_id", "=", account.id)], order="id")
