"""Kommo's contact list is read whole at most once: a later batch reads only the contacts
changed since (counted in the emulator's request log); and finding a customer's contact holds
whether Kommo's search compares phone digits or only the stored text."""

from odoo.tests import tagged

from .common_push import KommoPushCase

CONTACTS = "/api/v4/contacts"
DAY = 86_400


@tagged("post_install", "-at_install")
class TestRememberedContactList(KommoPushCase):
    def setUp(self):
        super().setUp()
        self.age_kommo_contacts()

    def age_kommo_contacts(self):
        """Every contact in Kommo last changed a day ago."""
        with self.emu.store.lock:
            for contact in self.emu.store.contacts.values():
                contact["created_at"] = contact["updated_at"] = self.emu.clock.timestamp() - DAY

    def demo_contact(self, name):
        return next(c for c in self.emu.store.contacts.values() if c["name"] == name)["id"]

    def contact_reads(self):
        return self.emu.calls("GET", CONTACTS)

    def linked_contact(self, order):
        (contact_id,) = self.emu.store.lead_contacts[self.binding(order).kommo_lead_id]
        return contact_id

    def first_sync(self):
        """A first sync whose new customer makes the push read the whole (short) list."""
        self.repair_order(self.customer("Cliente Novo", phone="11 91234-0000"))
        self.push()
        pages = [call.query["page"] for call in self.contact_reads()]
        self.assertEqual(pages, ["6", "1"], "a probe, then the list's one page")
        self.assertTrue(self.account.kommo_contacts_read_at)
        self.emu.clear_log()

    def test_a_later_batch_reads_only_the_contacts_changed_since_the_list_was_read(self):
        self.first_sync()
        added = self.emu.add_contact("Bruno Lima", phones=["+55 31 98888-0000"])["id"]
        ana = self.repair_order(self.customer("Ana C.", phone="(21) 98765-0001"))
        bruno = self.repair_order(self.customer("Bruno", phone="31 98888-0000"))
        clara = self.repair_order(self.customer("Clara Nova", phone="11 95555-0000"))

        self.push()

        changes, check = self.contact_reads()
        self.assertIn("filter[updated_at][from]", changes.query)
        self.assertEqual(changes.query["order[id]"], "asc")
        self.assertIn("If-Modified-Since", changes.headers)
        # Ana is known from the first read: Kommo is asked whether she is still there. Bruno
        # came with the changes (as did the contact the first sync created).
        self.assertEqual(check.query["filter[id][]"], str(self.demo_contact("Ana Costa")))
        self.assertEqual(self.linked_contact(ana), self.demo_contact("Ana Costa"))
        self.assertEqual(self.linked_contact(bruno), added)
        new = self.emu.store.contacts[self.linked_contact(clara)]
        self.assertEqual(new["name"], "Clara Nova", "not in Kommo: created, without searching")

    def test_nothing_changed_costs_one_call_under_each_reading_of_if_modified_since(self):
        self.first_sync()
        customers = {
            "not_modified": ("Carlos S.", "31 99988-7766", "Carlos Souza", 304),
            "filter": ("Fernanda L.", "41 99876-5432", "Fernanda Lima", 204),
            "ignore": ("Maria S.", "11 98765-4321", "Maria Silva", 204),
        }
        for reading, (name, phone, in_kommo, status) in customers.items():
            with self.subTest(reading=reading):
                self.age_kommo_contacts()
                self.emu.if_modified_since = reading
                self.emu.clear_log()
                order = self.repair_order(self.customer(name, phone=phone))
                self.push()
                changes, check = self.contact_reads()
                self.assertEqual(changes.status, status)
                self.assertEqual(check.query["filter[id][]"], str(self.demo_contact(in_kommo)))
                self.assertEqual(self.linked_contact(order), self.demo_contact(in_kommo))

    def test_a_contact_deleted_in_kommo_is_not_taken_from_memory(self):
        self.first_sync()
        self.emu.crm.delete_contact(self.demo_contact("Maria Silva"))
        order = self.repair_order(self.customer("Maria S.", phone="11 98765-4321"))

        self.push()

        self.assertEqual(self.emu.store.contacts[self.linked_contact(order)]["name"], "Maria S.")
        keys = self.env["kommo.contact.key"].search([("key", "=", "+5511987654321")])
        self.assertFalse(keys, "the deleted contact is forgotten")

    def test_a_list_not_read_to_its_end_is_not_remembered(self):
        self.emu.add_contacts_bulk((f"Estranho {n}", (), ()) for n in range(1_600))
        self.repair_order(self.customer("Cliente Novo", phone="11 91234-0000"))
        self.push()
        self.assertFalse(self.account.kommo_contacts_read_at)
        self.assertFalse(self.env["kommo.contact.key"].search_count([]))

    def connect_again(self, previous_kommo_account):
        self.account.write(
            {
                "kommo_account_id": previous_kommo_account,
                "auth_mode": "long_lived",
                "long_lived_token": self.emu.issue_long_lived_token(days=30),
            }
        )
        self.account.action_connect()
        self.assertEqual(self.account.state, "connected")

    def test_connecting_to_another_kommo_account_forgets_the_list(self):
        self.first_sync()
        self.connect_again(previous_kommo_account=1234)
        self.assertFalse(self.account.kommo_contacts_read_at)
        self.assertFalse(self.account.kommo_contact_count)
        self.assertFalse(self.env["kommo.contact.key"].search_count([]))

    def test_connecting_again_to_the_same_kommo_account_keeps_the_list(self):
        self.first_sync()
        read_at = self.account.kommo_contacts_read_at
        self.connect_again(previous_kommo_account=self.emu.account_id)
        self.assertEqual(self.account.kommo_contacts_read_at, read_at)
        self.assertTrue(self.env["kommo.contact.key"].search_count([]))


@tagged("post_install", "-at_install")
class TestPhoneSearchReadings(KommoPushCase):
    """Kommo does not document how its search meets phone values (CONTRACT.md, "Phone
    search"): comparing digits, or only a value stored exactly as the query."""

    def setUp(self):
        super().setUp()
        self.account.kommo_contact_count = 50_000  # a long list: customers are searched

    def searches(self):
        calls = self.emu.calls("GET", CONTACTS)
        return [call.query["query"] for call in calls if "query" in call.query]

    def linked_contact(self, order):
        (contact_id,) = self.emu.store.lead_contacts[self.binding(order).kommo_lead_id]
        return contact_id

    def assert_a_contact_odoo_created_is_found_again(self, reading):
        self.emu.phone_search = reading
        first = self.repair_order(self.customer("Rita Gomes", phone="11 94444-0004"))
        self.push()
        rita = self.linked_contact(first)
        contacts = len(self.emu.store.contacts)
        self.emu.clear_log()
        # The same person entered again in Odoo, her number written another way.
        again = self.repair_order(self.customer("Rita G.", phone="+55 (11) 94444-0004"))

        self.push()

        self.assertEqual(self.linked_contact(again), rita)
        self.assertEqual(len(self.emu.store.contacts), contacts, "no duplicate contact")
        self.assertEqual(self.searches(), ["+5511944440004"], "found by its E.164 text")

    def test_a_contact_odoo_created_is_found_again_when_kommo_compares_digits(self):
        self.assert_a_contact_odoo_created_is_found_again("digits")

    def test_a_contact_odoo_created_is_found_again_when_kommo_matches_exact_text(self):
        self.assert_a_contact_odoo_created_is_found_again("exact")

    def test_a_number_stored_as_people_write_it_is_found_when_kommo_matches_exact_text(self):
        self.emu.phone_search = "exact"
        written = self.emu.add_contact("Paulo", phones=["(11) 95555-0005"])["id"]
        order = self.repair_order(self.customer("Paulo R.", phone="+55 11 95555 0005"))
        self.push()
        self.assertEqual(self.linked_contact(order), written)

    def test_under_exact_text_a_list_read_finds_a_number_written_any_way(self):
        self.emu.phone_search = "exact"
        self.account.kommo_contact_count = 6  # the demo's short list: read, not searched
        order = self.repair_order(self.customer("Maria S.", phone="11 98765-4321"))
        self.push()
        maria = next(c for c in self.emu.store.contacts.values() if c["name"] == "Maria Silva")
        self.assertEqual(self.linked_contact(order), maria["id"])  # "+55 (11) 98765-4321"
        self.assertFalse(self.searches())
