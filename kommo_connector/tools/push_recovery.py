"""Orders whose lead creation was sent without a known outcome (a timeout, a lost answer):
before anything is sent again, their leads are looked up in Kommo, so that a lead is never
created twice for one order.

An order is found by its reference, which starts the lead's name and fills the order number
field when mapped. Several such orders are looked up together, in one read of the leads
changed since the first of their creations was sent (a creation changes a lead then), when
that read ends in fewer calls than one search per order; the orders it does not settle are
searched one by one (``GET /leads?query=``).
"""

from datetime import timedelta
from itertools import islice

from kommo_api import KommoError

from .datetimes import unix_time
from .lead_payload import LEAD_NAME_SEPARATOR, names_order

# Leads a search by order reference reads at most (more would not be a match anyway).
LOOKUP_MAX_LEADS = 50
# Leads a page of the changed leads holds; how far Kommo's clock may be behind Odoo's.
LOOKUP_PAGE_LEADS = 250
LOOKUP_CLOCK_MARGIN = timedelta(minutes=5)


class LostCreations:
    """Finds in Kommo the leads of ``run``'s orders whose creation had no answer."""

    def __init__(self, run):
        self.run = run
        self.account = run.account

    def recover(self, items):
        """Split ``items`` into creations and updates, after looking up in Kommo the leads
        whose creation was sent without a known outcome."""
        found = self._find_created_leads([item for item in items if item.unknown_create])
        creates, updates = [], []
        for item in items:
            if item.lead_id:
                updates.append(item)
            elif not item.unknown_create:
                creates.append(item)
            elif found.get(item.binding_id):
                updates.append(item._replace(lead_id=found[item.binding_id], unknown_create=False))
            elif item.binding_id in self.run.open:
                creates.append(item)
        return creates, updates

    def _find_created_leads(self, items):
        """``{binding id: its lead in Kommo, or None}`` for ``items``, whose creation was sent
        without a known outcome; an order whose look-up failed is failed (not in the run)."""
        candidates = self._scan_changed_leads(items) if len(items) > 1 else {}
        found = self.run.in_transaction(self._bind_found_leads, candidates) if candidates else {}
        for item in items:
            if item.binding_id not in found:
                found[item.binding_id] = self._find_created_lead(item)
        return found

    def _scan_changed_leads(self, items):
        """``{binding id: [lead ids naming its order]}`` from one read of the leads changed
        since the first of these creations was sent, for the orders it settles: all of them
        when the read ends within fewer calls than one look-up per order, else those found.
        """
        run = self.run
        terms, number_field_ids = run.in_transaction(
            self._scan_terms, [item.binding_id for item in items]
        )
        if not terms:
            return {}
        since = min(sent_at for _reference, sent_at in terms.values()) - LOOKUP_CLOCK_MARGIN
        binding_ids_of = {}
        for binding_id, (reference, _sent_at) in terms.items():
            binding_ids_of.setdefault(reference, []).append(binding_id)
        candidates = {binding_id: [] for binding_id in terms}
        leads = run.client("lead_lookup").iter_leads_updated_since(unix_time(since))
        most = (len(items) - 1) * LOOKUP_PAGE_LEADS
        try:
            read = 0
            for read, lead in enumerate(leads, start=1):
                for reference in _references_named(lead, number_field_ids):
                    if names_order(lead, reference, number_field_ids):
                        for binding_id in binding_ids_of.get(reference, ()):
                            candidates[binding_id].append(lead["id"])
                if read >= most:
                    break
            complete = read < most
        except KommoError:
            complete = False  # the orders not found yet are looked up one by one
        return {
            binding_id: sorted(set(lead_ids))
            for binding_id, lead_ids in candidates.items()
            if lead_ids or complete
        }

    def _scan_terms(self, env, binding_ids):
        bindings = env["kommo.lead.binding"].browse(binding_ids).exists()
        terms = {
            binding.id: (binding.repair_id.name, binding.create_sent_at)
            for binding in bindings
            if binding.repair_id.name and binding.create_sent_at
        }
        return terms, self._number_field_ids(env)

    def _find_created_lead(self, item):
        run = self.run
        reference, number_field_ids = run.in_transaction(self._lookup_terms, item.binding_id)
        if not reference:
            return None
        try:
            leads = list(
                islice(run.client("lead_lookup").iter_leads(query=reference), LOOKUP_MAX_LEADS)
            )
        except KommoError as error:
            run.fail([item.binding_id], error, keep_create_sent=True)
            return None
        candidates = sorted(
            lead["id"] for lead in leads if names_order(lead, reference, number_field_ids)
        )
        found = run.in_transaction(self._bind_found_leads, {item.binding_id: candidates})
        return found[item.binding_id]

    def _lookup_terms(self, env, binding_id):
        binding = env["kommo.lead.binding"].browse(binding_id).exists()
        if not binding:
            return None, ()
        return binding.repair_id.name, self._number_field_ids(env)

    def _number_field_ids(self, env):
        number_maps = env["kommo.field.map"].search(
            [("account_id", "=", self.account.id), ("role", "=", "order_number")]
        )
        return tuple(number_maps.custom_field_id.mapped("kommo_id"))

    def _bind_found_leads(self, env, candidates):
        """``{binding id: its lead, or False}`` for ``{binding id: [candidate lead ids]}``, in
        one transaction: each order's lead is the first of its candidates no other order is
        bound to."""
        bindings = env["kommo.lead.binding"]
        wanted = sorted({lead_id for lead_ids in candidates.values() for lead_id in lead_ids})
        taken = set(
            bindings.search(
                [("account_id", "=", self.account.id), ("kommo_lead_id", "in", wanted)]
            ).mapped("kommo_lead_id")
        )
        found = {}
        for binding_id, lead_ids in candidates.items():
            lead_id = next((lead_id for lead_id in lead_ids if lead_id not in taken), False)
            taken.add(lead_id)
            bindings.browse(binding_id).write({"create_sent_at": False, "kommo_lead_id": lead_id})
            found[binding_id] = lead_id
        return found


def _references_named(lead, number_field_ids):
    """The order references ``lead`` may carry: its name, the start of its name, the values
    of its order number field (``names_order`` tells which really name an order)."""
    name = lead.get("name") or ""
    references = {name, name.split(LEAD_NAME_SEPARATOR, 1)[0]}
    for entry in lead.get("custom_fields_values") or ():
        if entry.get("field_id") in number_field_ids:
            references.update(value.get("value") for value in entry.get("values") or ())
    return references
