"""Sending one kind of write of a push (lead creations, lead updates, contact links, notes):
50 a call, an item Kommo refuses set aside with its reason (``batches``), a 429 sent again
after a pause, every answer recorded in a transaction of its own as soon as it comes.
"""

import time

from kommo_api import KommoError, KommoRateLimited, KommoUnexpectedResponse

from .batches import send_isolating_invalid
from .lead_payload import explain_issues
from .push_run import Outcome

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


def send_batch(run, sends, call, record, refusal, *, keep_create_sent=False, if_unknown=None):
    """``call`` Kommo with the payloads of ``sends`` (each with ``binding_id``, ``lead_id``
    and ``payload``), isolating the ones it refuses (``refusal % reason``);
    ``record(env, part, answer)`` writes the outcomes of each part Kommo took, in ``run``'s
    transaction; ``if_unknown(send)``: the values of a send whose outcome is unknown."""
    reported = set()

    def on_sent(part, answer):
        run.in_transaction(record, part, answer)
        reported.update(send.binding_id for send in part)

    def on_rejected(send, issues, error):
        reason = explain_issues(send.payload, issues, run.field_names()) or error.message
        values = {} if send.lead_id else {"create_sent_at": False}
        run.finish([Outcome(send.binding_id, "error", refusal % reason, values)])
        reported.add(send.binding_id)

    try:
        send_isolating_invalid(
            lambda part: call_despite_rate_limit(call, [send.payload for send in part]),
            sends,
            lambda send: send.payload["request_id"],
            on_sent,
            on_rejected,
        )
    except KommoError as error:
        unsent = [send for send in sends if send.binding_id not in reported]
        keep = keep_create_sent or isinstance(error, KommoUnexpectedResponse)
        values_of = None
        if if_unknown and error.outcome_unknown:
            values_of = {send.binding_id: if_unknown(send) for send in unsent}
        ids = [send.binding_id for send in unsent]
        run.fail(ids, error, keep_create_sent=keep, values_of=values_of)
