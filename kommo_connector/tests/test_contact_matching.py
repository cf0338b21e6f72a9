from odoo.tests import BaseCase, tagged

from ..tools.contact_matcher import PAGE_SIZE, ContactMatcher, WantedContact
from .common_push import KommoPushCase


@tagged("post_install", "-at_install")
class TestContactMatching(KommoPushCase):
    def demo_contact(self, name):
        return next(c for c in self.emu.store.contacts.values() if c["name"] == name)

    def searches(self):
        return [
            call.query["query"]
            for call in self.emu.calls("GET", "/api/v4/contacts")
            if "query" in call.query
        ]

    def list_reads(self):
        return [
            call for call in self.emu.calls("GET", "/api/v4/contacts") if "query" not in call.query
        ]

    def linked_contact(self, order):
        (contact_id,) = self.emu.store.lead_contacts[self.lead_of(order)["id"]]
        return contact_id

    def test_an_existing_contact_is_matched_by_a_phone_written_another_way(self):
        maria = self.demo_contact("Maria Silva")  # her phone: "+55 (11) 98765-4321"
        contacts_before = len(self.emu.store.contacts)
        order = self.repair_order(self.customer("Maria S.", phone="11 98765-4321"))
        self.push()
        self.assertEqual(self.linked_contact(order), maria["id"])
        self.assertEqual(len(self.emu.store.contacts), contacts_before, "no duplicate contact")
        binding = order.partner_id.sudo().kommo_contact_binding_ids
        self.assertEqual(binding.kommo_contact_id, maria["id"])

    def test_a_short_contact_list_is_read_once_and_its_length_remembered(self):
        self.repair_order(self.customer("Maria S.", phone="11 98765-4321"))
        self.push()
        self.assertEqual(len(self.list_reads()), 1)
        self.assertFalse(self.searches())
        self.assertEqual(self.account.kommo_contact_count, 6)

    def test_customers_are_searched_one_by_one_when_the_list_is_long(self):
        self.account.kommo_contact_count = 50_000
        maria = self.demo_contact("Maria Silva")
        order = self.repair_order(self.customer("Maria S.", phone="11 98765-4321"))
        self.push()
        self.assertFalse(self.list_reads())
        self.assertEqual(self.searches(), ["5511987654321"])
        self.assertEqual(self.linked_contact(order), maria["id"])

    def test_the_mobile_wins_over_the_phone_and_the_phone_over_the_email(self):
        ana = self.demo_contact("Ana Costa")  # mobile +5521987650001, ana@oficina.example
        carlos = self.demo_contact("Carlos Souza")  # 5531999887766, carlos.souza@example.net
        partner = self.customer(
            "Ana", mobile="(21) 98765-0001", phone="31 99988-7766", email="carlos.souza@example.net"
        )
        for estimate in (0, 50_000):  # reading the list, then searching
            with self.subTest(estimate=estimate):
                self.account.kommo_contact_count = estimate
                partner.sudo().kommo_contact_binding_ids.unlink()
                order = self.repair_order(partner)
                self.push()
                self.assertEqual(self.linked_contact(order), ana["id"])
                self.assertNotEqual(ana["id"], carlos["id"])

    def test_an_email_finds_a_customer_without_phone(self):
        carlos = self.demo_contact("Carlos Souza")
        order = self.repair_order(self.customer("C. Souza", email="Carlos.Souza@Example.net"))
        self.push()
        self.assertEqual(self.linked_contact(order), carlos["id"])

    def test_a_search_hit_that_is_not_the_same_email_is_not_taken(self):
        self.account.kommo_contact_count = 50_000
        order = self.repair_order(self.customer("Ana Paula", email="a@oficina.example"))
        self.push()
        self.assertEqual(self.searches(), ["a@oficina.example"])  # finds ana@oficina.example
        contact = self.emu.store.contacts[self.linked_contact(order)]
        self.assertEqual(contact["name"], "Ana Paula", "a new contact, not Ana Costa")

    def test_a_customer_without_phone_or_email_is_created_without_looking_up(self):
        order = self.repair_order(self.customer("Sem Contato"))
        self.push()
        self.assertFalse(self.emu.calls("GET", "/api/v4/contacts"))
        contact = self.emu.store.contacts[self.linked_contact(order)]
        self.assertEqual(contact["name"], "Sem Contato")

    def test_a_bound_customer_is_not_looked_up_again(self):
        partner = self.customer("Maria S.", phone="11 98765-4321")
        self.repair_order(partner)
        self.push()
        self.emu.clear_log()
        order = self.repair_order(partner)
        self.push()
        self.assertFalse(self.emu.calls("GET", "/api/v4/contacts"))
        self.assertEqual(self.linked_contact(order), self.demo_contact("Maria Silva")["id"])


@tagged("post_install", "-at_install")
class TestListOrSearch(BaseCase):
    """The choice between reading Kommo's contact list and searching customer by customer."""

    def matcher(self, contact_count, estimate=None):
        self.pages = []
        self.queries = []

        def list_contacts():
            for index in range(contact_count):
                if index % PAGE_SIZE == 0:
                    self.pages.append(index // PAGE_SIZE + 1)
                yield {"id": index + 1, "custom_fields_values": None}

        def search(query):
            self.queries.append(query)
            return []

        return ContactMatcher(list_contacts, search, "BR", estimated_count=estimate)

    def wanted(self, count):
        return [WantedContact(index, (f"+55119{80000000 + index:08d}",)) for index in range(count)]

    def test_a_long_list_is_searched_when_its_estimate_says_so(self):
        result = self.matcher(50_000, estimate=50_000).match(self.wanted(3))
        self.assertEqual(self.pages, [])
        self.assertEqual(len(self.queries), 6)  # two search keys per phone
        self.assertEqual(result.absent, {0, 1, 2})

    def test_a_short_list_is_read_once_instead_of_searching(self):
        result = self.matcher(400, estimate=400).match(self.wanted(3))
        self.assertEqual(self.pages, [1, 2])
        self.assertEqual(self.queries, [])
        self.assertTrue(result.list_complete)
        self.assertEqual(result.contacts_seen, 400)

    def test_without_estimate_reading_stops_once_it_costs_more_than_searching(self):
        result = self.matcher(50_000).match(self.wanted(2))  # 4 searches at most
        self.assertEqual(self.pages, [1, 2, 3, 4, 5])
        self.assertEqual(len(self.queries), 4)
        self.assertFalse(result.list_complete)

    def test_a_list_outgrowing_a_stale_estimate_is_not_read_to_its_end(self):
        self.matcher(50_000, estimate=10).match(self.wanted(1))  # 2 searches at most
        self.assertEqual(self.pages, [1, 2, 3])
        self.assertEqual(len(self.queries), 2)
