"""The calls of a push: leads created 50 a call with their contact (``/leads/complex``), leads
updated 50 a call (``PATCH /leads``, without contacts: a changed customer's contact is linked
afterwards, ``push_links.py``), changed diagnoses added as notes 50 a call.

A lead is never created twice for one order: ``create_sent_at`` is committed before the
creation is sent, and an order whose creation had no answer is first looked up in Kommo by
its reference (which starts the lead's name, and fills the order number field when mapped).
"""

import time
from collections import deque
from datetime import datetime, timezone
from itertools import islice

from odoo import _, fields

from kommo_api import KommoError, KommoRateLimited, KommoUnexpectedResponse

from .batches import creation_order, send_isolating_invalid
from .lead_payload import (
    contact_values,
    content_hash,
    diagnosis_text,
    explain_issues,
    lead_values,
    names_order,
)
from .push_contacts import PushContacts
from .push_links import PushLinks
from .push_run import PushRun, RunStopped

# Leads a lookup by order reference reads at most (more would not be a match anyway).
LOOKUP_MAX_LEADS = 50
# The note hash of a binding whose note was sent without an answer: Kommo may have it, so it
# is looked up among the lead's notes before it is sent again.
NOTE_SENT = "sent:"
NOTES_PATH = "/api/v4/leads/notes"
# A write Kommo refused with 429 was not applied: it is sent again after a pause (seconds,
# one per attempt) instead of waiting for the next push.
RATE_LIMIT_PAUSES = (1.0, 2.0, 4.0)


def call_despite_rate_limit(call, payloads, sleep=time.sleep):
    """``call(payloads)``, again after a pause when Kommo answers 429 (nothing was applied)."""
    for pause in RATE_LIMIT_PAUSES:
        try:
            return call(payloads)
        except KommoRateLimited:
            sleep(pause)
    return call(payloads)


class LeadPush(PushContacts, PushLinks, PushRun):
    def execute(self, binding_ids=None):
        items = self.claim(binding_ids)
        try:
            creates, updates = self.recover_unknown_creates(items)
            self.resolve_contacts(creates + updates)
            self.push_creates([item for item in creates if item.binding_id in self.open])
            updates += self.adopted_updates(creates)
            self.push_updates([item for item in updates if item.binding_id in self.open])
            self.flush_notes(everything=True)
        except RunStopped:
            self.stopped = True
        finally:
            self.release()
        return self

    # -- creations whose outcome is unknown ---------------------------------------------------

    def recover_unknown_creates(self, items):
        """Split ``items`` into creations and updates, after looking up in Kommo the leads
        whose creation was sent without a known outcome."""
        creates, updates = [], []
        for item in items:
            if item.lead_id:
                updates.append(item)
            elif not item.unknown_create:
                creates.append(item)
            else:
                lead_id = self._find_created_lead(item)
                if lead_id:
                    updates.append(item._replace(lead_id=lead_id, unknown_create=False))
                elif item.binding_id in self.open:
                    creates.append(item)
        return creates, updates

    def _find_created_lead(self, item):
        reference, number_field_ids = self.in_transaction(self._lookup_terms, item.binding_id)
        if not reference:
            return None
        try:
            leads = list(
                islice(self.client("lead_lookup").iter_leads(query=reference), LOOKUP_MAX_LEADS)
            )
        except KommoError as error:
            self.fail([item.binding_id], error, keep_create_sent=True)
            return None
        candidates = sorted(
            lead["id"] for lead in leads if names_order(lead, reference, number_field_ids)
        )
        return self.in_transaction(self._bind_found_lead, item.binding_id, candidates)

    def _lookup_terms(self, env, binding_id):
        binding = env["kommo.lead.binding"].browse(binding_id).exists()
        if not binding:
            return None, ()
        number_maps = env["kommo.field.map"].search(
            [("account_id", "=", self.account.id), ("role", "=", "order_number")]
        )
        return binding.repair_id.name, tuple(number_maps.custom_field_id.mapped("kommo_id"))

    def _bind_found_lead(self, env, binding_id, candidates):
        """The first candidate no other order is bound to becomes this order's lead."""
        taken = env["kommo.lead.binding"].search(
            [("account_id", "=", self.account.id), ("kommo_lead_id", "in", candidates)]
        )
        free = [lead_id for lead_id in candidates if lead_id not in taken.mapped("kommo_lead_id")]
        lead_id = free[0] if free else False
        env["kommo.lead.binding"].browse(binding_id).write(
            {"create_sent_at": False, "kommo_lead_id": lead_id}
        )
        return lead_id

    # -- building what is sent ----------------------------------------------------------------

    def _build(self, env, binding_ids, creating):
        """What to send for these bindings, read in one snapshot with their revision."""
        if creating:
            binding_ids = self.hold_new_customers(env, binding_ids)
        bindings = env["kommo.lead.binding"].browse(binding_ids).exists()
        self.open.difference_update(set(binding_ids) - set(bindings.ids))
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
            stage = stages[order.state]
            update_values = lead_values(order, stage, maps, creating=False)
            partner = order.partner_id
            contact_id = self.contact_ids.get(partner.id) if partner else None
            send = {
                "binding_id": binding.id,
                "request_id": binding.create_request_id or f"odoo-repair-{order.id}",
                "lead_id": binding.kommo_lead_id,
                "partner_id": partner.id,
                "contact_id": contact_id,
                "update_values": update_values,
                "stage": (stage.pipeline_id.kommo_id, stage.kommo_id) if stage else None,
                "note": diagnosis_text(order),
                # A new lead has no note yet, whatever an earlier (deleted) lead had.
                "note_hash": False if creating else binding.note_hash,
            }
            if creating:
                payload = lead_values(order, stage, maps, account.pipeline_id, creating=True)
                if partner:
                    contact = {"id": contact_id} if contact_id else None
                    contact = contact or contact_values(partner, self.region)
                    payload["_embedded"] = {"contacts": [contact]}
            else:
                # No _embedded.contacts on an update: Kommo links nothing that way (push_links).
                payload = dict(update_values, id=binding.kommo_lead_id)
                linked = binding.kommo_contact_id
                send["link"] = None
                if contact_id and contact_id != linked:
                    send["link"] = (binding.kommo_lead_id, contact_id, linked or None)
                send["hash"], send["patched_hash"] = self.update_hashes(
                    update_values, contact_id, linked
                )
                send["unchanged"] = send["hash"] == binding.lead_hash
                send["data_unchanged"] = send["patched_hash"] == binding.lead_hash
            send["payload"] = dict(payload, request_id=send["request_id"])
            self.revisions[binding.id] = binding.revision
            sends.append(send)
        if creating and sends:
            for binding in bindings.filtered(lambda binding: not binding.create_request_id):
                binding.create_request_id = f"odoo-repair-{binding.repair_id.id}"
            bindings.browse(
                [send["binding_id"] for send in sends]
            ).create_sent_at = fields.Datetime.now()
        if foreign:
            message = _("This repair order belongs to another company than the Kommo account.")
            self.finish([(binding_id, "error", message, {}) for binding_id in foreign], env)
        return sends

    def _after_lead(self, send, lead_id, values):
        """The outcome once the lead is right: synced, or waiting for its changed note."""
        note = send["note"]
        note_hash = content_hash(note) if note else None
        if note and note_hash != send["note_hash"]:
            payload = {"entity_id": lead_id, "note_type": "common", "params": {"text": note}}
            payload["request_id"] = send["request_id"] + "-note"
            unknown = send["note_hash"] == NOTE_SENT + note_hash
            self.notes.append(dict(send, payload=payload, new_note_hash=note_hash, look_up=unknown))
            return (send["binding_id"], "progress", None, values)
        return (send["binding_id"], "synced", None, values)

    @staticmethod
    def _lead_values(send, now):
        values = {"pushed_at": now}
        if send["stage"]:
            values["kommo_pipeline_id"], values["kommo_status_id"] = send["stage"]
        return values

    # -- sending ------------------------------------------------------------------------------

    def _send(self, sends, call, record, refusal, *, keep_create_sent=False, if_unknown=None):
        """``call`` Kommo with the payloads of ``sends``, isolating the ones it refuses;
        ``if_unknown(send)``: the values of a send whose outcome is unknown."""
        reported = set()

        def on_sent(part, answer):
            self.in_transaction(record, part, answer)
            reported.update(send["binding_id"] for send in part)

        def on_rejected(send, issues, error):
            reason = explain_issues(send["payload"], issues, self.field_names()) or error.message
            message = refusal % reason
            values = {} if send["lead_id"] else {"create_sent_at": False}
            self.finish([(send["binding_id"], "error", message, values)])
            reported.add(send["binding_id"])

        try:
            send_isolating_invalid(
                lambda part: call_despite_rate_limit(call, [send["payload"] for send in part]),
                sends,
                lambda send: send["payload"]["request_id"],
                on_sent,
                on_rejected,
            )
        except KommoError as error:
            unsent = [send for send in sends if send["binding_id"] not in reported]
            keep = keep_create_sent or isinstance(error, KommoUnexpectedResponse)
            values_of = None
            if if_unknown and error.outcome_unknown:
                values_of = {send["binding_id"]: if_unknown(send) for send in unsent}
            ids = [send["binding_id"] for send in unsent]
            self.fail(ids, error, keep_create_sent=keep, values_of=values_of)

    def field_names(self):
        if not hasattr(self, "_field_names"):
            fields_ = self.account.custom_field_ids
            self._field_names = {field.kommo_id: field.name for field in fields_}
        return self._field_names

    # -- creations ----------------------------------------------------------------------------

    def push_creates(self, items):
        """Create the leads 50 a call; a new customer is embedded once per call, its other
        orders wait for a later call and link the contact then created."""
        queue = deque(creation_order(items, self.contact_ids))
        while queue:
            chunk, deferred, embedded = [], [], set()
            while queue and len(chunk) < self.options["batch_size"]:
                item = queue.popleft()
                partner_id = item.partner_id
                if partner_id and partner_id not in self.contact_ids:
                    if partner_id in embedded:
                        deferred.append(item)
                        continue
                    embedded.add(partner_id)
                chunk.append(item)
            queue.extendleft(reversed(deferred))
            sends = self.in_transaction(self._build, [item.binding_id for item in chunk], True)
            if sends:
                self._send(
                    sends,
                    self.client("push_leads").create_leads_complex,
                    self._record_created,
                    _("Kommo refused the lead: %s"),
                )
            self.flush_notes()

    def _record_created(self, env, sends, answer):
        now = fields.Datetime.now()
        outcomes, new_contacts = [], {}
        refused = self.refused_merges(env, sends, answer)
        for send in sends:
            result = answer.get(send["request_id"]) or {}
            if not result.get("id"):
                message = _("Kommo's answer did not name the created lead.")
                outcomes.append((send["binding_id"], "retry", message, {}))
                continue
            if send["binding_id"] in refused:
                message = refused[send["binding_id"]]
                outcomes.append(self.record_refused_merge(env, send, message, result["id"]))
                continue
            # A merged lead's contact is the kept lead's: Kommo created none for a customer
            # sent as new, and found this one by the customer's phone or e-mail.
            contact_id = send["contact_id"] or result.get("contact_id")
            if not send["contact_id"] and contact_id and send["partner_id"]:
                new_contacts[send["partner_id"]] = contact_id
            values = self._lead_values(send, now)
            values.update(
                kommo_lead_id=result["id"],
                create_sent_at=False,
                kommo_contact_id=contact_id or False,
                kommo_updated_at=now,
                lead_hash=content_hash([send["update_values"], contact_id]),
            )
            if result.get("merged"):
                # A known contact is linked by the update, next to the kept lead's own.
                values["kommo_contact_id"] = False if send["contact_id"] else contact_id or False
                outcomes.append(self.adopt_merged_lead(env, send, values))
                continue
            outcomes.append(self._after_lead(send, result["id"], values))
        env["kommo.contact.binding"]._kommo_bind(self.account, new_contacts)
        self.contact_ids.update(new_contacts)
        self.absent.difference_update(new_contacts)  # not created again for an update
        self.finish(outcomes, env)

    # -- updates ------------------------------------------------------------------------------

    def push_updates(self, items):
        """Update the leads 50 a call; a lead whose data did not change is not sent again
        (unless the push is forced, as the "Sync Kommo" button does)."""
        self.create_contacts([item for item in items if item.partner_id in self.absent])
        size = self.options["batch_size"]
        for start in range(0, len(items), size):
            chunk = [item.binding_id for item in items[start : start + size]]
            sends = self.in_transaction(
                self._build, [bid for bid in chunk if bid in self.open], False
            )
            quiet = [send for send in sends if send["unchanged"] and not self.force]
            if quiet:
                self.finish([self._after_lead(send, send["lead_id"], {}) for send in quiet])
            changed = [send for send in sends if send not in quiet]
            # A lead Kommo has up to date but for its contact (the link failed) is only linked.
            patched = [send for send in changed if self.force or not send["data_unchanged"]]
            if patched:
                self._send(
                    patched,
                    self.client("update_leads").update_leads,
                    self._record_updated,
                    _("Kommo refused the lead: %s"),
                )
            self.link_contacts(
                [send for send in changed if send["link"] and send["binding_id"] in self.open]
            )
            self.flush_notes()

    def _record_updated(self, env, sends, answer):
        now = fields.Datetime.now()
        updated_at = {item.get("id"): item.get("updated_at") for item in answer or ()}
        outcomes = []
        for send in sends:
            values = self._lead_values(send, now)
            timestamp = updated_at.get(send["lead_id"])
            values["kommo_updated_at"] = (
                datetime.fromtimestamp(timestamp, timezone.utc).replace(tzinfo=None)
                if isinstance(timestamp, int)
                else now
            )
            if send["link"]:
                # Updated, its new contact not linked yet: the link step records the rest.
                values["lead_hash"] = send["patched_hash"]
                outcomes.append((send["binding_id"], "progress", None, values))
                continue
            values["lead_hash"] = send["hash"]
            outcomes.append(self._after_lead(send, send["lead_id"], values))
        self.finish(outcomes, env)

    # -- notes --------------------------------------------------------------------------------

    def flush_notes(self, everything=False):
        size = self.options["batch_size"]
        while self.notes and (everything or len(self.notes) >= size):
            chunk, self.notes = self.notes[:size], self.notes[size:]
            chunk = self._notes_not_in_kommo(chunk)
            if chunk:
                self._send(
                    chunk,
                    self.client("push_notes").add_lead_notes,
                    self._record_notes,
                    _("Kommo refused the diagnosis note: %s"),
                    if_unknown=lambda send: {"note_hash": NOTE_SENT + send["new_note_hash"]},
                )

    def _notes_not_in_kommo(self, chunk):
        """``chunk`` without the notes Kommo already has: a note sent before without an
        answer is looked up among its lead's notes (one call for the chunk) first."""
        sent = {send["payload"]["entity_id"]: send for send in chunk if send["look_up"]}
        if not sent:
            return chunk
        params = [("filter[entity_id][]", lead_id) for lead_id in sent]
        try:
            notes = self.client("note_lookup").iter_pages(
                NOTES_PATH, "notes", params=[*params, ("filter[note_type]", "common")]
            )
            texts = {
                (note.get("entity_id"), (note.get("params") or {}).get("text")) for note in notes
            }
        except KommoError as error:
            self.fail([send["binding_id"] for send in sent.values()], error)
            return [send for send in chunk if not send["look_up"]]
        there = [send for lead_id, send in sent.items() if (lead_id, send["note"]) in texts]
        if there:
            self.in_transaction(self._record_notes, there, None)
        return [send for send in chunk if send not in there]

    def _record_notes(self, env, sends, answer):
        self.finish(
            [
                (send["binding_id"], "synced", None, {"note_hash": send["new_note_hash"]})
                for send in sends
            ],
            env,
        )
