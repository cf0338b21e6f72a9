"""Fixtures of the discovery and mapping tests: a connected account that has read the demo
Kommo account, and repair orders to map."""

import copy

from .common import KommoCase


class KommoMappingCase(KommoCase):
    """The emulator's pipelines and fields are put back after each test that changes them."""

    def setUp(self):
        super().setUp()
        store = self.emu.store
        with store.lock:
            saved = copy.deepcopy((store.pipelines, store.lead_fields, store.contact_fields))

        def restore_kommo_metadata():
            with store.lock:
                for current, before in zip(
                    (store.pipelines, store.lead_fields, store.contact_fields), saved, strict=True
                ):
                    current.clear()
                    current.update(copy.deepcopy(before))

        self.addCleanup(restore_kommo_metadata)

    # Kommo side ------------------------------------------------------------------------------
    def kommo_pipeline(self, name):
        return next(p for p in self.emu.store.pipelines.values() if p["name"] == name)

    def kommo_lead_field(self, name):
        return next(f for f in self.emu.store.lead_fields.values() if f["name"] == name)

    def kommo_field_creations(self):
        return self.emu.calls("POST", "/api/v4/leads/custom_fields")

    # Odoo side -------------------------------------------------------------------------------
    def discovered_account(self, **values):
        """A connected account that has read pipelines and fields (and got the default maps)."""
        account = self.create_account(**values)
        account.action_refresh_metadata()
        return account

    def lead_field(self, account, name):
        return account.custom_field_ids.filtered(
            lambda field: field.entity_type == "leads" and field.name == name
        )

    def field_map(self, account, role):
        return account.field_map_ids.filtered(lambda fmap: fmap.role == role)

    def stage_line(self, account, state):
        return account.stage_map_ids.filtered(lambda line: line.repair_state == state)

    def repair_order(self, vehicle="Fiat Uno 2015", plate="ABC1D23", **values):
        """A repair order for a vehicle (the product) with its plate (the serial number)."""
        product = self.env["product.product"].create(
            {"name": vehicle, "is_storable": True, "tracking": "serial"}
        )
        if plate:
            values["lot_id"] = (
                self.env["stock.lot"].create({"name": plate, "product_id": product.id}).id
            )
        partner = self.env["res.partner"].create({"name": "Maria Silva", "phone": "+5511987654321"})
        return self.env["repair.order"].create(
            {"product_id": product.id, "partner_id": partner.id, **values}
        )
