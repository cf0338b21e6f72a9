"""Fixtures of the push tests: a fresh demo Kommo emulator per test, a connected account that
read it and created the vehicle / plate / order number fields, and repair orders."""

import itertools
from datetime import timedelta

from odoo import Command, fields
from odoo.tests import new_test_user

from kommo_api.testing import KommoEmulator

from .common import KommoCase

REDIRECT_URI = "http://127.0.0.1:8069/kommo/oauth/callback"
# Repair states -> options of the demo account's "Status da OS" select field.
STATUS_OPTIONS = {
    "draft": "Aberta",
    "confirmed": "Aguardando peças",
    "under_repair": "Em execução",
    "done": "Concluída",
    "cancel": "Cancelada",
}


class KommoPushMixin:
    """For a TransactionCase (KommoPushCase) or an HttpCase, with KommoEmulatorMixin: both run
    the push in the test's transaction (the registry is in test mode)."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.vehicle = cls.env["product.product"].create(
            {"name": "Fiat Uno 2015", "is_storable": True, "tracking": "serial"}
        )
        cls.plates = itertools.count(1)
        cls.push_cron = cls.env.ref("kommo_connector.ir_cron_kommo_push")

    def setUp(self):
        # A fresh Kommo per test (with its 7 requests/s limit): no lead of another test.
        self.emu = self.start_emulator()
        super().setUp()
        self.account = self.connected_account(self.emu)

    # -- Kommo side ---------------------------------------------------------------------------

    def start_emulator(self, **options):
        emu = KommoEmulator(seed="demo", **options).start()
        self.addCleanup(emu.stop)
        return emu

    def connected_account(self, emu, company=None, **values):
        """An account connected to ``emu`` that read its pipelines and fields, with the role
        fields created in Kommo and the order status options mapped."""
        app = emu.register_app(redirect_uri=REDIRECT_URI)
        tokens = emu.issue_tokens(app.client_id)
        now = fields.Datetime.now()
        account = self.env["kommo.account"].create(
            {
                "name": f"Kommo {emu.host}",
                "company_id": (company or self.env.company).id,
                "host": emu.host,
                "client_id": app.client_id,
                "client_secret": app.client_secret,
                "authorize_url": emu.authorize_url,
                "phone_country_id": self.env.ref("base.br").id,
                "state": "connected",
                "access_token": tokens["access_token"],
                "refresh_token": tokens["refresh_token"],
                "token_expires_at": now + timedelta(seconds=tokens["expires_in"]),
                "token_obtained_at": now,
                **values,
            }
        )
        account.action_refresh_metadata()
        account.action_create_missing_fields()
        status_map = self.field_map(account, "order_status")
        for line in status_map.value_map_ids:
            line.enum_id = status_map.custom_field_id.enum_ids.filtered(
                lambda option, line=line: option.value == STATUS_OPTIONS[line.odoo_value]
            )
        emu.clear_log()
        return account

    def field_map(self, account, role):
        return account.field_map_ids.filtered(lambda fmap: fmap.role == role)

    def kommo_field_id(self, account, role):
        return self.field_map(account, role).custom_field_id.kommo_id

    def leads_named(self, reference, emu=None):
        emu = emu or self.emu
        return [lead for lead in emu.store.leads.values() if lead["name"].startswith(reference)]

    def lead_of(self, order, emu=None):
        (lead,) = self.leads_named(order.name, emu)
        return lead

    def lead_value(self, lead, kommo_field_id):
        for entry in lead["custom_fields_values"] or ():
            if entry["field_id"] == kommo_field_id:
                return [value.get("enum_id") or value["value"] for value in entry["values"]]
        return None

    def contacts_of(self, lead_id, emu=None):
        emu = emu or self.emu
        return [emu.store.contacts[cid] for cid in emu.store.lead_contacts.get(lead_id, [])]

    def notes_of(self, lead_id, emu=None):
        emu = emu or self.emu
        return [
            note["params"]["text"]
            for note in emu.store.notes.values()
            if note["entity_id"] == lead_id and note["_entity"] == "leads"
        ]

    def lead_creations(self, emu=None):
        return (emu or self.emu).calls("POST", "/api/v4/leads/complex")

    def writes_to_kommo(self, emu=None):
        """``METHOD path`` of every API call that may have changed something in Kommo."""
        return [
            f"{call.method} {call.path}"
            for call in (emu or self.emu).calls()
            if call.method != "GET" and call.path.startswith("/api/")
        ]

    # -- Odoo side ----------------------------------------------------------------------------

    def customer(self, name="Cliente Novo", phone=None, **values):
        return self.env["res.partner"].create({"name": name, "phone": phone, **values})

    def repair_order(self, partner=None, plate=True, company=None, **values):
        """A repair order of the Fiat Uno, with a plate (its serial number) unless not wanted."""
        company = company or self.env.company
        if plate:
            values["lot_id"] = (
                self.env["stock.lot"]
                .create(
                    {
                        "name": f"ABC{next(self.plates):04d}",
                        "product_id": self.vehicle.id,
                        "company_id": company.id,
                    }
                )
                .id
            )
        partner = partner if partner is not None else self.customer()
        return (
            self.env["repair.order"]
            .with_company(company)
            .create(
                {
                    "product_id": self.vehicle.id,
                    "partner_id": partner.id,
                    "company_id": company.id,
                    **values,
                }
            )
        )

    def push(self, **options):
        """Run the push cron's method, as the cron does."""
        pushed = self.env["kommo.lead.binding"]._cron_push(**options)
        self.env.invalidate_all()
        return pushed

    def binding(self, order, account=None):
        account = account or self.account
        return order.sudo().kommo_lead_binding_ids.filtered(
            lambda binding: binding.account_id == account
        )

    def make_due(self, orders):
        """Pretend the retry delay of these orders has passed."""
        self.binding_records(orders).write({"next_attempt_at": fields.Datetime.now()})

    def binding_records(self, orders):
        return self.env["kommo.lead.binding"].search([("repair_id", "in", orders.ids)])

    def kommo_user(self, login="kommo_user", company=None):
        """A repair user who may sync with Kommo (password: the login)."""
        company = company or self.env.company
        return new_test_user(
            self.env,
            login=login,
            groups="stock.group_stock_user,kommo_connector.group_kommo_user",
            company_id=company.id,
            company_ids=[Command.set(company.ids)],
        )


class KommoPushCase(KommoPushMixin, KommoCase):
    pass
