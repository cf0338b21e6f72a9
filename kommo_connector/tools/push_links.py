"""Which lead and which contact belong to whom: the customer's contact of an existing lead
(Kommo's links API), and the leads Kommo's duplicate control merged.

An existing lead gets its contact through ``POST /api/v4/leads/link`` (50 a call), never
through ``_embedded.contacts`` in ``PATCH /api/v4/leads``: Kommo documents ``_embedded`` on an
update for tags only and the official PHP library sends contacts only when creating
(``LeadModel::toApi``), so an update carrying them links nothing (CONTRACT.md, "Links"). The
binding records a contact only once Kommo linked it: a failed link leaves the order to be
tried again, never recorded as linked.

With duplicate control on, ``POST /api/v4/leads/complex`` may merge a new lead into an
existing open one and answer that lead's id with ``merged: true`` (Kommo's "Complex addition
of leads" reference). A lead follows one repair order: an order merged into the lead of
another order is stopped for a person to decide; one merged into a lead no order has takes
it, and its data is then sent to that lead.
"""

import dataclasses

from .lead_payload import content_hash
from .push_run import Outcome, WorkItem
from .push_send import send_batch


def update_hashes(update_values, contact_id, linked):
    """``(hash, patched_hash)``: what the lead holds once up to date, and once updated but
    before its new contact is linked (both as ``lead_hash`` records them)."""
    return (
        content_hash([update_values, contact_id or linked or None]),
        content_hash([update_values, linked or None]),
    )


class LinkWriter:
    """Links the customer's contact of existing leads in ``run``; a lead linked is done as
    ``notes`` says (``NoteWriter.after_lead``)."""

    def __init__(self, run, notes):
        self.run = run
        self.env = run.env  # translates its messages (self.env._), in its language
        self.notes = notes

    def link(self, sends):
        """Make each send's customer contact the main contact of its lead, then unlink the
        contact it replaces; recorded per send once Kommo has done both."""
        if not sends:
            return
        links = []
        for send in sends:
            lead_id, contact_id, replaced = send.link
            # The request id only names the send: Kommo names refused links by position,
            # which never equals it, so a refused link is isolated by halving the batch.
            payload = {
                "request_id": f"{send.request_id}-link",
                "lead_id": lead_id,
                "contact_id": contact_id,
                "replaced": replaced,
            }
            links.append(dataclasses.replace(send, payload=payload))
        send_batch(
            self.run,
            links,
            self._link_call,
            self._record_linked,
            self.env._("Kommo refused to link the customer's contact to the lead: %s"),
        )

    def _link_call(self, payloads):
        self.run.client("link_contacts").link_contacts(
            [(payload["lead_id"], payload["contact_id"]) for payload in payloads], main=True
        )
        # The order's customer changed: the contact Odoo linked for the former customer leaves
        # the lead. A changed customer on a repair order is nearly always a correction (the
        # wrong person was picked), and a lead left under two customers shows the repair in
        # the wrong person's Kommo card and history, and Kommo's automations reach them too.
        # Only the contact Odoo itself linked is removed: contacts a person linked in Kommo
        # (a fleet manager next to the driver) stay.
        replaced = [
            (payload["lead_id"], payload["replaced"])
            for payload in payloads
            if payload["replaced"] and payload["replaced"] != payload["contact_id"]
        ]
        if replaced:
            self.run.client("unlink_contacts").unlink_contacts(replaced)

    def _record_linked(self, env, sends, _answer):
        outcomes = []
        for send in sends:
            values = {"kommo_contact_id": send.link[1], "lead_hash": send.hash}
            outcomes.append(self.notes.after_lead(send, send.lead_id, values))
        self.run.finish(outcomes, env)


class Merges:
    """The leads Kommo's duplicate control merged new leads of ``run`` into."""

    def __init__(self, run):
        self.run = run
        self.env = run.env  # translates its messages (self.env._), in its language
        self.adopted = []  # binding ids whose order took a lead Kommo merged its new one into

    def refused(self, env, sends, answer):
        """``{binding_id: message}``: the orders of ``sends`` whose new lead Kommo merged into
        a lead that another repair order has (bound before, or taken by an earlier order of
        this call). The others merged take the lead they were merged into."""
        merged = [
            (send, answer[send.request_id]["id"])
            for send in sends
            if (answer.get(send.request_id) or {}).get("merged")
            and answer[send.request_id].get("id")
        ]
        if not merged:
            return {}
        bindings = env["kommo.lead.binding"]
        owners = {
            binding.kommo_lead_id: binding.repair_id
            for binding in bindings.search(
                [
                    ("account_id", "=", self.run.account.id),
                    ("kommo_lead_id", "in", [lead_id for _send, lead_id in merged]),
                ]
            )
        }
        refused = {}
        for send, lead_id in merged:
            owner = owners.get(lead_id)
            if owner:
                refused[send.binding_id] = self._merge_message(lead_id, owner)
            else:
                owners[lead_id] = bindings.browse(send.binding_id).repair_id
        return refused

    def _merge_message(self, lead_id, owner):
        return self.env._(
            "Kommo's duplicate control merged this order's new lead into lead %(lead)s, "
            "which follows repair order %(order)s. A lead follows one repair order, so this "
            "order was not sent. If both orders are the same job, cancel this one; if not, "
            "turn off duplicate control for this integration in Kommo and sync this order "
            "again.",
            lead=lead_id,
            order=owner.display_name,
        )

    def record_refused(self, env, send, message, lead_id):
        """The sync log shows the merge as a failure of the order, next to the call that
        Kommo answered with success."""
        order = env["kommo.lead.binding"].browse(send.binding_id).repair_id
        env["kommo.sync.log"]._kommo_log(
            self.run.account,
            "lead_merged",
            records=order,
            kommo_id=lead_id,
            outcome="error",
            error_message=message,
        )
        return Outcome(send.binding_id, "error", message, {"create_sent_at": False})

    def adopt(self, env, send, item_values):
        """The order takes the existing lead Kommo merged its new lead into: the lead gets
        the order's data by an update in this same run (a merge changes nothing on the kept
        lead), and the order's chatter says so."""
        binding = env["kommo.lead.binding"].browse(send.binding_id)
        binding.repair_id._message_log(
            body=self.env._(
                "Kommo's duplicate control merged this order's new lead into the existing "
                "lead %s: the order follows that lead now.",
                item_values["kommo_lead_id"],
            )
        )
        self.adopted.append(send.binding_id)
        values = dict(item_values, lead_hash=False, note_hash=False)
        return Outcome(send.binding_id, "progress", values=values)

    def adopted_updates(self, creates):
        """The orders of ``creates`` that took a merged lead: updated as any bound order."""
        partner_of = {item.binding_id: item.partner_id for item in creates}
        return [
            WorkItem(binding_id, None, False, partner_of[binding_id])
            for binding_id in dict.fromkeys(self.adopted)
        ]
