from unittest import skipIf

from odoo.tests import BaseCase, tagged

from ..tools import compat
from ..tools.contact_matcher import PAGE_SIZE, ContactMatcher, WantedContact
from .common_push import KommoPushCase

# What each phone of a customer Kommo does not have costs in searches (phone_search_keys).
SEARCHES_PER_PHONE = 5


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

    def list_pages(self):
        return [int(call.query["page"]) for call in self.list_reads()]

    def add_strangers(self, count):
        self.emu.add_contacts_bulk((f"Estranho {index}", (), ()) for index in range(count))

    def test_a_short_contact_list_is_read_after_one_probe_and_its_length_remembered(self):
        # One customer costs five searches: page 6 is empty, so the list is read instead.
        self.repair_order(self.customer("Maria S.", phone="11 98765-4321"))
        self.push()
        self.assertEqual(self.list_pages(), [SEARCHES_PER_PHONE + 1, 1])
        self.assertFalse(self.searches())
        self.assertEqual(self.account.kommo_contact_count, 6)
        whole_reads = [call.query for call in self.list_reads()]
        self.assertTrue(all(query["order[id]"] == "asc" for query in whole_reads))

    def test_a_list_too_long_to_read_leaves_no_length_behind(self):
        self.add_strangers(1_600)  # seven pages
        self.repair_order(self.customer("Maria S.", phone="11 98765-4321"))
        self.push()
        self.assertEqual(self.list_pages(), [SEARCHES_PER_PHONE + 1])
        self.assertEqual(self.searches(), ["+5511987654321"])
        self.assertEqual(self.account.kommo_contact_count, 0, "a partial read tells no length")
        self.assertFalse(self.account.kommo_contacts_read_at, "nor a list to remember")

    def test_a_length_the_list_outgrew_is_forgotten(self):
        self.account.kommo_contact_count = 6
        self.add_strangers(2_000)  # nine pages
        self.repair_order(self.customer("Cliente Novo", phone="11 91234-0000"))
        self.push()
        # The known page, then the probe.
        self.assertEqual(self.list_pages(), [1, 1 + SEARCHES_PER_PHONE + 1])
        self.assertEqual(
            self.searches(),
            [
                "+5511912340000",
                "11912340000",
                "5511912340000",
                "+55 11 91234-0000",
                "(11) 91234-0000",
            ],
        )
        self.assertEqual(self.account.kommo_contact_count, 0)

    def test_customers_are_searched_one_by_one_when_the_list_is_long(self):
        self.account.kommo_contact_count = 50_000
        maria = self.demo_contact("Maria Silva")
        order = self.repair_order(self.customer("Maria S.", phone="11 98765-4321"))
        self.push()
        self.assertFalse(self.list_reads())
        self.assertEqual(self.searches(), ["+5511987654321"])
        self.assertEqual(self.linked_contact(order), maria["id"])

    def assert_matched_for_both_list_sizes(self, partner, contact):
        for estimate in (0, 50_000):  # reading the list, then searching
            with self.subTest(estimate=estimate):
                self.account.kommo_contact_count = estimate
                partner.sudo().kommo_contact_binding_ids.unlink()
                order = self.repair_order(partner)
                self.push()
                self.assertEqual(self.linked_contact(order), contact["id"])

    def test_the_phone_wins_over_the_email(self):
        ana = self.demo_contact("Ana Costa")  # mobile +5521987650001, ana@oficina.example
        carlos = self.demo_contact("Carlos Souza")  # 5531999887766, carlos.souza@example.net
        self.assertNotEqual(ana["id"], carlos["id"])
        partner = self.customer("Ana", phone="(21) 98765-0001", email="carlos.souza@example.net")
        self.assert_matched_for_both_list_sizes(partner, ana)

    @skipIf(compat.ODOO_MAJOR >= 19, "Odoo 19 partners have one phone, no mobile")
    def test_the_mobile_wins_over_the_phone(self):
        ana = self.demo_contact("Ana Costa")
        partner = self.customer(
            "Ana", mobile="(21) 98765-0001", phone="31 99988-7766", email="carlos.souza@example.net"
        )
        self.assert_matched_for_both_list_sizes(partner, ana)

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
    """The choice between reading Kommo's contact list and searching customer by customer
    (each wanted phone costs five searches when its customer is not in Kommo)."""

    def matcher(self, contact_count, known_count=None, phones=None):
        """A matcher on a list of ``contact_count`` contacts (``phones``: {position: phone});
        ``self.pages`` and ``self.queries`` record the calls."""
        self.pages = []
        self.queries = []
        phones = phones or {}

        def contact(index):
            values = None
            if index in phones:
                values = [{"field_code": "PHONE", "values": [{"value": phones[index]}]}]
            return {"id": index + 1, "custom_fields_values": values}

        def read_page(number):
            self.pages.append(number)
            start = (number - 1) * PAGE_SIZE
            end = min(start + PAGE_SIZE, contact_count)
            return [contact(index) for index in range(start, end)], end < contact_count

        def search(query):
            self.queries.append(query)
            return []

        return ContactMatcher(read_page, search, "BR", known_count=known_count)

    def wanted(self, count):
        return [WantedContact(index, (f"+55119{80000000 + index:08d}",)) for index in range(count)]

    def test_a_long_list_is_searched_when_its_known_length_says_so(self):
        result = self.matcher(50_000, known_count=50_000).match(self.wanted(3))
        self.assertEqual(self.pages, [])
        self.assertEqual(len(self.queries), 3 * SEARCHES_PER_PHONE)
        self.assertEqual(result.absent, {0, 1, 2})

    def test_a_short_list_of_known_length_is_read_instead_of_searching(self):
        result = self.matcher(400, known_count=400).match(self.wanted(3))
        self.assertEqual(self.pages, [1, 2])
        self.assertEqual(self.queries, [])
        self.assertTrue(result.list_complete)
        self.assertEqual(result.contact_count, 400)

    def test_without_a_known_length_one_probe_finds_a_long_list_to_search(self):
        # 20 new customers, 100 searches: page 101 exists, so the list is not read.
        result = self.matcher(50_000).match(self.wanted(20))
        self.assertEqual(self.pages, [101])
        self.assertEqual(len(self.queries), 100)
        self.assertFalse(result.list_complete)
        self.assertIsNone(result.contact_count, "no length is learnt without the last page")

    def test_without_a_known_length_one_probe_finds_a_short_list_to_read(self):
        result = self.matcher(2_600).match(self.wanted(20))  # 11 pages, 100 searches
        self.assertEqual(self.pages, [101, *range(1, 12)])
        self.assertEqual(self.queries, [])
        self.assertEqual(result.contact_count, 2_600)

    def test_the_customers_on_the_probe_page_are_not_searched(self):
        # Two customers, 10 searches: the probe is page 11, which holds contact 2501.
        matcher = self.matcher(50_000, phones={2500: "+55 (11) 98000-0001"})
        result = matcher.match(self.wanted(2))
        self.assertEqual(self.pages, [11])
        self.assertEqual(result.found, {1: 2501})
        self.assertEqual(
            self.queries,
            [
                "+5511980000000",
                "11980000000",
                "5511980000000",
                "+55 11 98000-0000",
                "(11) 98000-0000",
            ],
        )

    def test_a_list_that_outgrew_its_known_length_is_probed_not_read_on(self):
        result = self.matcher(50_000, known_count=9_750).match(self.wanted(20))
        self.assertEqual(self.pages, [*range(1, 40), 140])  # 39 known pages, then the probe
        self.assertEqual(len(self.queries), 100)
        self.assertTrue(result.count_outgrown)
        self.assertIsNone(result.contact_count)
