"""The calls of a push: leads created 50 a call with their contact (``/leads/complex``), leads
updated 50 a call (``PATCH /leads``, without contacts: a changed customer's contact is linked
afterwards, ``push_links.py``), changed diagnoses added as notes 50 a call.

A lead is never created twice for one order: ``create_sent_at`` is committed before the
creation is sent, and an order whose creation had no answer is first looked up in Kommo
(``push_recovery.py``).
"""

from dataclasses import dataclass

from odoo import fields

from ..const import lead_request_id
from .batches import creation_calls
from .datetimes import from_unix_time
from .lead_payload import (
    contact_values,
    content_hash,
    diagnosis_text,
    lead_values,
)
from .push_contacts import ContactResolver
from .push_links import LinkWriter, Merges, update_hashes
from .push_notes import NoteWriter
from .push_recovery import LostCreations
from .push_run import Outcome, RunStopped
from .push_send import send_batch


@dataclass
class LeadSend:
    """One lead to create or update, read in one snapshot with its binding's revision.

    ``update_values``: the lead's data as an update sends it (its hash is ``lead_hash``);
    ``payload``: what is sent. For an update, ``link`` is ``(lead, contact, replaced contact)``
    when the customer's contact must be linked, ``hash`` / ``patched_hash`` what the lead holds
    once up to date / once updated but not linked yet, ``unchanged`` / ``data_unchanged``
    whether Kommo has that already."""

    binding_id: int
    request_id: str
    lead_id: int | None
    partner_id: int | None
    contact_id: int | None
    update_values: dict
    stage: tuple | None
    note: str | None
    note_hash: str | bool
    payload: dict | None = None
    link: tuple | None = None
    hash: str | None = None
    patched_hash: str | None = None
    unchanged: bool = False
    data_unchanged: bool = False


def push(run, binding_ids=None):
    """One push of ``run``'s account: claim the orders (``binding_ids``, else the pending
    ones), find their customers' contacts, create and update their leads, add their notes."""
    contacts = ContactResolver(run)
    leads = LeadWriter(run, contacts)
    items = run.claim(binding_ids)
    try:
        creates, updates = LostCreations(run).recover(items)
        contacts.resolve(creates + updates)
        leads.push_creates(run.still_open(creates))
        updates += leads.merges.adopted_updates(creates)
        leads.push_updates(run.still_open(updates))
        leads.notes.flush(everything=True)
    except RunStopped:
        run.stopped = True
    finally:
        run.release()
    return run


class LeadWriter:
    """Creates and updates the leads of ``run``'s orders, with the contacts ``contacts``
    found; the links, merges and notes that follow are its parts."""

    def __init__(self, run, contacts):
        self.run = run
        self.env = run.env  # translates its messages (self.env._), in its language
        self.account = run.account
        self.contacts = contacts
        self.notes = NoteWriter(run)
        self.links = LinkWriter(run, self.notes)
        self.merges = Merges(run)

    # -- building what is sent ----------------------------------------------------------------

    def _build(self, env, binding_ids, creating):
        """What to send for these bindings (``LeadSend``s), read in one snapshot with their
        revision; creations get ``create_sent_at`` stamped in this same transaction."""
        run = self.run
        if creating:
            binding_ids = self.contacts.hold_new_customers(env, binding_ids)
        bindings = env["kommo.lead.binding"].browse(binding_ids).exists()
        run.open.difference_update(set(binding_ids) - set(bindings.ids))
        account = self.account.with_env(env)
        maps = env["kommo.field.map"].search([("account_id", "=", account.id)])
        stages, sends, foreign = {}, [], []
        for binding in bindings:
            order = binding.repair_id
            if order.company_id != account.company_id:
                foreign.append(binding.id)  # never sent with another company's credentials
                continue
            if order.state not in stages:
                stages[order.state] = env["kommo.stage.map"]._kommo_stage_for_state(
                    account, order.state
                )
            sends.append(self._lead_send(binding, stages[order.state], maps, account, creating))
            run.revisions[binding.id] = binding.revision
        if creating and sends:
            for binding in bindings.filtered(lambda binding: not binding.create_request_id):
                binding.create_request_id = lead_request_id(binding.repair_id.id)
            bindings.browse(
                [send.binding_id for send in sends]
            ).create_sent_at = fields.Datetime.now()
        if foreign:
            message = self.env._(
                "This repair order belongs to another company than the Kommo account."
            )
            run.finish([Outcome(binding_id, "error", message) for binding_id in foreign], env)
        return sends

    def _lead_send(self, binding, stage, maps, account, creating):
        order = binding.repair_id
        partner = order.partner_id
        contact_id = self.contacts.contact_ids.get(partner.id) if partner else None
        send = LeadSend(
            binding_id=binding.id,
            request_id=binding.create_request_id or lead_request_id(order.id),
            lead_id=binding.kommo_lead_id,
            partner_id=partner.id,
            contact_id=contact_id,
            update_values=lead_values(order, stage, maps, creating=False),
            stage=(stage.pipeline_id.kommo_id, stage.kommo_id) if stage else None,
            note=diagnosis_text(order),
            # A new lead has no note yet, whatever an earlier (deleted) lead had.
            note_hash=False if creating else binding.note_hash,
        )
        if creating:
            payload = lead_values(order, stage, maps, account.pipeline_id, creating=True)
            if partner:
                contact = {"id": contact_id} if contact_id else None
                contact = contact or contact_values(partner, self.run.region)
                payload["_embedded"] = {"contacts": [contact]}
        else:
            # No _embedded.contacts on an update: Kommo links nothing that way (push_links).
            payload = dict(send.update_values, id=binding.kommo_lead_id)
            linked = binding.kommo_contact_id
            if contact_id and contact_id != linked:
                send.link = (binding.kommo_lead_id, contact_id, linked or None)
            send.hash, send.patched_hash = update_hashes(send.update_values, contact_id, linked)
            send.unchanged = send.hash == binding.lead_hash
            send.data_unchanged = send.patched_hash == binding.lead_hash
        send.payload = dict(payload, request_id=send.request_id)
        return send

    @staticmethod
    def _lead_values(send, now, **values):
        """The binding's values once Kommo has the lead of ``send``, plus ``values``."""
        values["pushed_at"] = now
        if send.stage:
            values["kommo_pipeline_id"], values["kommo_status_id"] = send.stage
        return values

    def _send_leads(self, sends, call, record):
        send_batch(self.run, sends, call, record, self.env._("Kommo refused the lead: %s"))

    # -- creations ----------------------------------------------------------------------------

    def push_creates(self, items):
        """Create the leads 50 a call; a new customer is embedded once per call, its other
        orders wait for a later call and link the contact then created."""
        size = self.run.options["batch_size"]
        for chunk in creation_calls(items, self.contacts.contact_ids, size):
            sends = self.run.in_transaction(self._build, [item.binding_id for item in chunk], True)
            if sends:
                create = self.run.client("push_leads").create_leads_complex
                self._send_leads(sends, create, self._record_created)
            self.notes.flush()

    def _record_created(self, env, sends, answer):
        now = fields.Datetime.now()
        outcomes, new_contacts = [], {}
        refused = self.merges.refused(env, sends, answer)
        for send in sends:
            result = answer.get(send.request_id) or {}
            if not result.get("id"):
                message = self.env._("Kommo's answer did not name the created lead.")
                outcomes.append(Outcome(send.binding_id, "retry", message))
                continue
            if send.binding_id in refused:
                message = refused[send.binding_id]
                outcomes.append(self.merges.record_refused(env, send, message, result["id"]))
                continue
            # A merged lead's contact is the kept lead's: Kommo created none for a customer
            # sent as new, and found this one by the customer's phone or e-mail.
            contact_id = send.contact_id or result.get("contact_id")
            if not send.contact_id and contact_id and send.partner_id:
                new_contacts[send.partner_id] = contact_id
            values = self._lead_values(
                send,
                now,
                kommo_lead_id=result["id"],
                create_sent_at=False,
                kommo_contact_id=contact_id or False,
                kommo_updated_at=now,
                lead_hash=content_hash([send.update_values, contact_id]),
            )
            if result.get("merged"):
                # A known contact is linked by the update, next to the kept lead's own.
                values["kommo_contact_id"] = False if send.contact_id else contact_id or False
                outcomes.append(self.merges.adopt(env, send, values))
                continue
            outcomes.append(self.notes.after_lead(send, result["id"], values))
        env["kommo.contact.binding"]._kommo_bind(self.account, new_contacts)
        self.contacts.learn(new_contacts)  # not created again for an update
        self.run.finish(outcomes, env)

    # -- updates ------------------------------------------------------------------------------

    def push_updates(self, items):
        """Update the leads 50 a call; a lead whose data did not change is not sent again
        (unless the push is forced, as the "Sync Kommo" button does)."""
        run, force = self.run, self.run.force
        contacts = self.contacts
        contacts.create_contacts([item for item in items if item.partner_id in contacts.absent])
        size = run.options["batch_size"]
        for start in range(0, len(items), size):
            chunk = run.still_open(items[start : start + size])
            sends = run.in_transaction(self._build, [item.binding_id for item in chunk], False)
            quiet = [send for send in sends if send.unchanged and not force]
            if quiet:
                run.finish([self.notes.after_lead(send, send.lead_id, {}) for send in quiet])
            changed = [send for send in sends if send not in quiet]
            # A lead Kommo has up to date but for its contact (the link failed) is only linked.
            patched = [send for send in changed if force or not send.data_unchanged]
            if patched:
                update = run.client("update_leads").update_leads
                self._send_leads(patched, update, self._record_updated)
            self.links.link(run.still_open([send for send in changed if send.link]))
            self.notes.flush()

    def _record_updated(self, env, sends, answer):
        now = fields.Datetime.now()
        updated_at = {item.get("id"): item.get("updated_at") for item in answer or ()}
        outcomes = []
        for send in sends:
            timestamp = updated_at.get(send.lead_id)
            known = isinstance(timestamp, int) and from_unix_time(timestamp)
            values = self._lead_values(send, now, kommo_updated_at=known or now)
            if send.link:
                # Updated, its new contact not linked yet: the link step records the rest.
                values["lead_hash"] = send.patched_hash
                outcomes.append(Outcome(send.binding_id, "progress", values=values))
                continue
            values["lead_hash"] = send.hash
            outcomes.append(self.notes.after_lead(send, send.lead_id, values))
        self.run.finish(outcomes, env)
