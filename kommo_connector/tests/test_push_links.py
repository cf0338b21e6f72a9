"""The contact of an existing lead: linked through Kommo's links API after the update (never
sent inside ``PATCH /api/v4/leads``, which Kommo ignores or refuses), recorded only once
linked, the former customer's contact unlinked."""

from odoo.tests import tagged

from .common_push import KommoPushCase

LINK = "/api/v4/leads/link"
UNLINK = "/api/v4/leads/unlink"


@tagged("post_install", "-at_install")
class TestCustomerChange(KommoPushCase):
    def setUp(self):
        super().setUp()
        self.order = self.repair_order(self.customer("Pedro Alves", phone="11 91111-0001"))
        self.push()
        binding = self.binding(self.order)
        self.assertEqual(binding.sync_state, "synced", binding.last_error)
        self.lead_id, self.former_contact = binding.kommo_lead_id, binding.kommo_contact_id
        self.emu.clear_log()

    def change_customer(self):
        self.order.partner_id = self.customer("Joana Reis", phone="11 92222-0002")

    def lead_contacts(self):
        return list(self.emu.store.lead_contacts.get(self.lead_id, []))

    def contact_named(self, name):
        (contact,) = [c for c in self.emu.store.contacts.values() if c["name"] == name]
        return contact["id"]

    def assert_linked_by_the_links_api(self):
        binding = self.binding(self.order)
        self.assertEqual(binding.sync_state, "synced", binding.last_error)
        joana = self.contact_named("Joana Reis")
        self.assertEqual(self.lead_contacts(), [joana], "hers only: Pedro's is unlinked")
        self.assertEqual(binding.kommo_contact_id, joana)
        patches = self.emu.calls("PATCH")
        self.assertTrue(patches, "the lead's data was updated")
        self.assertFalse([lead for call in patches for lead in call.json if "_embedded" in lead])
        (link,) = self.emu.calls("POST", LINK)
        self.assertEqual(
            link.json,
            [
                {
                    "entity_id": self.lead_id,
                    "to_entity_id": joana,
                    "to_entity_type": "contacts",
                    "metadata": {"is_main": True},
                }
            ],
        )
        (unlink,) = self.emu.calls("POST", UNLINK)
        self.assertEqual(
            [(item["entity_id"], item["to_entity_id"]) for item in unlink.json],
            [(self.lead_id, self.former_contact)],
        )

    def test_a_new_customer_is_linked_when_kommo_ignores_contacts_in_an_update(self):
        self.emu.patch_embedded_contacts = "ignore"
        self.change_customer()
        self.push()
        self.assert_linked_by_the_links_api()

    def test_a_new_customer_is_linked_when_kommo_refuses_contacts_in_an_update(self):
        self.emu.patch_embedded_contacts = "refuse"
        self.change_customer()
        self.push()
        self.assert_linked_by_the_links_api()

    def test_a_contact_a_person_linked_in_kommo_stays(self):
        driver = self.emu.add_contact("Motorista da frota", phones=["+5511933330003"])["id"]
        self.emu.store.link(self.lead_id, driver)
        self.change_customer()
        self.push()
        self.assertEqual(self.lead_contacts(), [self.contact_named("Joana Reis"), driver])

    def test_a_failed_link_is_retried_and_never_recorded_as_linked(self):
        self.change_customer()
        # Every attempt of the client (its retries included) fails.
        self.emu.faults.inject("500", count=4, method="POST", path=LINK)
        self.push()
        binding = self.binding(self.order)
        self.assertEqual(binding.sync_state, "pending")
        self.assertEqual(binding.attempt_count, 1)
        self.assertEqual(binding.kommo_contact_id, self.former_contact, "not recorded as linked")
        self.assertEqual(self.lead_contacts(), [self.former_contact])
        self.assertFalse(self.emu.calls("POST", UNLINK), "Pedro stays until Joana is linked")

        self.emu.clear_log()
        self.make_due(self.order)
        self.push()
        binding = self.binding(self.order)
        self.assertEqual(binding.sync_state, "synced", binding.last_error)
        self.assertEqual(self.lead_contacts(), [self.contact_named("Joana Reis")])
        self.assertFalse(self.emu.calls("PATCH"), "Kommo had the data: only the link is sent")

    def test_a_link_kommo_refuses_puts_the_order_in_error_not_linked(self):
        joana = self.customer("Joana Reis", phone="11 92222-0002")
        gone = self.emu.add_contact("Joana", phones=["+5511922220002"])["id"]
        self.env["kommo.contact.binding"]._kommo_bind(self.account, {joana.id: gone})
        self.emu.crm.delete_contact(gone)  # a person deleted her contact in Kommo
        self.order.partner_id = joana
        self.push()
        binding = self.binding(self.order)
        self.assertEqual(binding.sync_state, "error")
        self.assertIn("Kommo refused to link the customer's contact", binding.last_error)
        self.assertEqual(binding.kommo_contact_id, self.former_contact)
        self.assertEqual(self.order.kommo_sync_state, "error")

    def test_an_unchanged_customer_costs_no_link(self):
        self.order.internal_notes = "<p>Barulho na suspensão.</p>"
        self.order.name = f"{self.order.name} (revisto)"
        self.push()
        self.assertEqual(self.binding(self.order).sync_state, "synced")
        self.assertTrue(self.emu.calls("PATCH"))
        self.assertFalse(self.emu.calls("POST", LINK))
        self.assertFalse(self.emu.calls("POST", UNLINK))
