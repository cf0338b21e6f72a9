"""The diagnosis note of a lead: added 50 a call once the lead is right, never twice.

A note sent without an answer may be in Kommo: its binding's ``note_hash`` says so
(``NOTE_SENT``), and the note is looked up among its lead's notes before it is sent again.
"""

from dataclasses import dataclass

from kommo_api import KommoError

from .lead_payload import content_hash
from .push_run import Outcome
from .push_send import send_batch

# The note hash of a binding whose note was sent without an answer.
NOTE_SENT = "sent:"


@dataclass(frozen=True)
class NoteSend:
    """One note to add: ``new_note_hash`` is recorded once Kommo has it; ``look_up``: an
    earlier sending had no answer."""

    binding_id: int
    lead_id: int
    text: str
    payload: dict
    new_note_hash: str
    look_up: bool


class NoteWriter:
    """The notes waiting to be sent in ``run`` (their leads are done)."""

    def __init__(self, run):
        self.run = run
        self.env = run.env  # translates its messages (self.env._), in its language
        self.waiting = []

    def after_lead(self, send, lead_id, values):
        """The ``Outcome`` of a lead ``send`` once the lead is right: synced, or in progress
        until its changed note is added (queued here)."""
        note = send.note
        note_hash = content_hash(note) if note else None
        if not note or note_hash == send.note_hash:
            return Outcome(send.binding_id, "synced", values=values)
        payload = {
            "entity_id": lead_id,
            "note_type": "common",
            "params": {"text": note},
            "request_id": send.request_id + "-note",
        }
        self.waiting.append(
            NoteSend(
                send.binding_id,
                lead_id,
                note,
                payload,
                note_hash,
                look_up=send.note_hash == NOTE_SENT + note_hash,
            )
        )
        return Outcome(send.binding_id, "progress", values=values)

    def flush(self, everything=False):
        """Send the waiting notes by full calls (``everything``: the last one too)."""
        size = self.run.options["batch_size"]
        while self.waiting and (everything or len(self.waiting) >= size):
            chunk, self.waiting = self.waiting[:size], self.waiting[size:]
            chunk = self._not_in_kommo(chunk)
            if chunk:
                send_batch(
                    self.run,
                    chunk,
                    self.run.client("push_notes").add_lead_notes,
                    self._record,
                    self.env._("Kommo refused the diagnosis note: %s"),
                    if_unknown=lambda send: {"note_hash": NOTE_SENT + send.new_note_hash},
                )

    def _not_in_kommo(self, chunk):
        """``chunk`` without the notes Kommo already has: a note sent before without an
        answer is looked up among its lead's notes (one call for the chunk) first."""
        sent = {send.lead_id: send for send in chunk if send.look_up}
        if not sent:
            return chunk
        try:
            notes = self.run.client("note_lookup").iter_lead_notes(list(sent))
            texts = {
                (note.get("entity_id"), (note.get("params") or {}).get("text")) for note in notes
            }
        except KommoError as error:
            self.run.fail([send.binding_id for send in sent.values()], error)
            return [send for send in chunk if not send.look_up]
        there = [send for lead_id, send in sent.items() if (lead_id, send.text) in texts]
        if there:
            self.run.in_transaction(self._record, there, None)
        return [send for send in chunk if send not in there]

    def _record(self, env, sends, _answer):
        outcomes = [
            Outcome(send.binding_id, "synced", values={"note_hash": send.new_note_hash})
            for send in sends
        ]
        self.run.finish(outcomes, env)
