"""The shop's daily screens in a browser: the field mapping with Odoo's field picker and
"Propose options", the sync log and the webhooks (kommo_shop_screens_tour.js)."""

from odoo.tests import tagged

from kommo_api import delivery_fingerprint, parse_webhook

from .common_inbound import KommoWebhookHttpCase, webhook_body


@tagged("post_install", "-at_install")
class TestShopScreensTour(KommoWebhookHttpCase):
    def setUp(self):
        super().setUp()
        self.account = self.inbound_account()
        self.order, self.binding = self.bound_order(self.account)

    def receive(self, body, **values):
        """A delivery stored as the webhook controller stores it, then left as ``values``."""
        event = self.env["kommo.webhook.event"]._kommo_store(
            self.account, parse_webhook(body), body, delivery_fingerprint(body)
        )
        event.write(values)
        return event

    def test_the_field_mapping(self):
        self.start_tour(
            f"/odoo/action-kommo_connector.action_kommo_account/{self.account.id}",
            "kommo_connector_field_map",
            login="admin",
        )
        plate = self.account.field_map_ids.filtered(lambda fmap: fmap.role == "plate")
        self.assertEqual(plate.odoo_field_path, "lot_id.ref")

    def test_the_sync_log(self):
        log = self.env["kommo.sync.log"]
        log._kommo_log(self.account, "push_notes", records=self.order, http_status=200)
        log._kommo_log(
            self.account,
            "push_leads",
            outcome="refused",
            http_status=400,
            error_message="custom_fields_values.0.field_id: " + "x" * 150,
        )
        self.start_tour(
            "/odoo/action-kommo_connector.action_kommo_sync_log",
            "kommo_connector_sync_log",
            login="admin",
        )

    def test_the_webhooks(self):
        em_reparo = self.stage(self.account, "Em reparo")
        self.receive(
            webhook_body(self.binding.kommo_lead_id, em_reparo),
            state="failed",
            reason="Attempt 3 failed: could not serialize access",
            attempts=3,
        )
        self.receive(webhook_body(4242), state="ignored", reason="Lead 4242 is not linked.")
        self.start_tour(
            "/odoo/action-kommo_connector.action_kommo_webhook_event",
            "kommo_connector_webhooks",
            login="admin",
        )
