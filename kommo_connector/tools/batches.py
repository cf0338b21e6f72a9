"""Batches of writes to Kommo: the order leads are created in, and sending a batch when one
bad item must not sink the others.

Kommo validates a batch write as a whole: one invalid lead and the 49 others are refused
with it. Its ``validation-errors`` name the bad items by ``request_id``; those are set aside
with Kommo's message and the rest is sent again. When Kommo names none of them, the batch is
halved until the bad item is alone.
"""

from collections import deque

from kommo_api import KommoValidationError


def send_isolating_invalid(send, items, key_of, on_sent, on_rejected):
    """Send ``items`` with ``send(chunk)``; ``on_sent(chunk, answer)`` after each success,
    ``on_rejected(item, issues, error)`` for each item Kommo refused.

    Any other error of ``send`` propagates: the items not yet reported to either callback
    are the ones it concerns.
    """
    queue = [list(items)]
    while queue:
        chunk = queue.pop(0)
        if not chunk:
            continue
        try:
            answer = send(chunk)
        except KommoValidationError as error:
            named = {}
            for item in chunk:
                issues = [issue for issue in error.issues if issue.request_id == key_of(item)]
                if issues:
                    named[key_of(item)] = (item, issues)
            if named:
                for item, issues in named.values():
                    on_rejected(item, issues, error)
                queue.insert(0, [item for item in chunk if key_of(item) not in named])
            elif len(chunk) == 1:
                on_rejected(chunk[0], error.issues, error)
            else:
                middle = len(chunk) // 2
                queue[0:0] = [chunk[:middle], chunk[middle:]]
            continue
        on_sent(chunk, answer)


def creation_order(items, known_partner_ids):
    """``items`` (with a ``partner_id``) in the order their leads are best created, 50 a
    call: the first order of every customer new to Kommo before anyone's second one.

    A new customer's contact is created with its first lead, so its other leads can only
    link that contact in a later call. The first orders come first (the customers with most
    orders ahead), then the other orders in the same customer order: no call has to hold an
    order back, and every call is full but the last one. Orders whose contact is known, or
    without a customer, come last: they fit in any call.
    """
    orders_of = {}  # new customer -> their orders, in the order given
    free = []
    for item in items:
        if item.partner_id and item.partner_id not in known_partner_ids:
            orders_of.setdefault(item.partner_id, []).append(item)
        else:
            free.append(item)
    customers = sorted(orders_of.values(), key=len, reverse=True)  # stable: ties keep order
    firsts = [orders[0] for orders in customers]
    others = [item for orders in customers for item in orders[1:]]
    return firsts + others + free


def creation_calls(items, known_partner_ids, batch_size):
    """``items`` (with a ``partner_id``) in the calls that create their leads, at most
    ``batch_size`` a call, in ``creation_order``: a customer new to Kommo has one order a
    call, since its contact is created with that lead; its other orders wait for a later call.

    ``known_partner_ids`` (a dict or set) is read anew for each call: the caller adds the
    customers whose contacts a call created, so their waiting orders go in the next one.
    """
    queue = deque(creation_order(items, known_partner_ids))
    while queue:
        chunk, deferred, embedded = [], [], set()
        while queue and len(chunk) < batch_size:
            item = queue.popleft()
            partner_id = item.partner_id
            if partner_id and partner_id not in known_partner_ids:
                if partner_id in embedded:
                    deferred.append(item)
                    continue
                embedded.add(partner_id)
            chunk.append(item)
        queue.extendleft(reversed(deferred))
        yield chunk
