"""Sending a batch to Kommo when one bad item must not sink the others.

Kommo validates a batch write as a whole: one invalid lead and the 49 others are refused
with it. Its ``validation-errors`` name the bad items by ``request_id``; those are set aside
with Kommo's message and the rest is sent again. When Kommo names none of them, the batch is
halved until the bad item is alone.
"""

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
