"""Webhook deliveries as people read them: what happened to which lead, and the delivery's
keys and values as a table.

The delivery is stored as Kommo sent it (form-encoded), so that it can be processed again;
these helpers only read it. Stage names come from the account's pipelines as Odoo last read
them, so a summary follows a stage renamed in Kommo once the pipelines are refreshed.
"""

import logging
from urllib.parse import parse_qsl

from markupsafe import Markup

from odoo.tools.translate import LazyTranslate

from kommo_api import EventType, WebhookParseError, parse_webhook

_lt = LazyTranslate(__name__)
_logger = logging.getLogger(__name__)

# A module-level table has no env: _lt (LazyTranslate) is Odoo's way, translated later with
# env._(term). pylint-odoo 9.3 counts _lt as _ in prefer-env-translation (10.0 no longer does).
# pylint: disable=prefer-env-translation
EVENT_TEXTS = {
    EventType.LEAD_ADDED: _lt("Lead %(id)s created"),
    EventType.LEAD_UPDATED: _lt("Lead %(id)s changed"),
    EventType.LEAD_STATUS_CHANGED: _lt("Lead %(id)s moved to %(stage)s"),
    EventType.LEAD_DELETED: _lt("Lead %(id)s deleted"),
    EventType.CONTACT_ADDED: _lt("Contact %(id)s created"),
    EventType.CONTACT_UPDATED: _lt("Contact %(id)s changed"),
    EventType.CONTACT_DELETED: _lt("Contact %(id)s deleted"),
}
OTHER_EVENT_TEXT = _lt("%(entity)s %(id)s: %(action)s")
UNKNOWN_STAGE_TEXT = _lt("stage %s")
# pylint: enable=prefer-env-translation
# A delivery of many events is summed up by its first ones.
EVENTS_IN_TITLE = 3


def read_delivery(body):
    """The parsed delivery, or None when it cannot be read."""
    try:
        return parse_webhook(body or "")
    except WebhookParseError:
        return None


def lead_ids(delivery):
    """The ids of the leads a delivery is about, in order, once each."""
    ids = [event.entity_id for event in delivery.events if event.entity == "leads"]
    return list(dict.fromkeys(ids))


def _filled(env, text, values):
    """``text``, a term of the tables above, in ``env``'s language, filled with ``values``.

    ``env._`` fills a plain term itself (``env._("... %s", value)``) but takes no values with
    a lazy one: those would have to be given to ``_lt`` when the module is imported. So the
    translation is filled here, once translated, and like ``env._`` falls back to the English
    words when the translation does not fit the values.
    """
    translated = env._(text)
    try:
        return translated % values
    except (TypeError, ValueError, KeyError):
        # A translator's typo in a placeholder: the source words, as env._ itself falls back.
        _logger.exception("Bad translation %r of a webhook summary", translated)
        source = env(context=dict(env.context, lang="en_US"))._(text)
        return source % values


def event_text(env, event, stage_names):
    """One event in words; ``stage_names`` maps (pipeline id, stage id) to a stage's name."""
    if event.type is EventType.OTHER:
        return _filled(
            env,
            OTHER_EVENT_TEXT,
            {"entity": event.entity, "id": event.entity_id, "action": event.action},
        )
    stage = stage_names.get((event.pipeline_id, event.status_id)) or _filled(
        env, UNKNOWN_STAGE_TEXT, event.status_id
    )
    return _filled(env, EVENT_TEXTS[event.type], {"id": event.entity_id, "stage": stage})


def delivery_title(env, delivery, stage_names):
    """A delivery in words: "Lead 90000997 moved to Em reparo; Lead 90000997 changed"."""
    if delivery is None:
        return env._("Unreadable delivery")
    texts = [event_text(env, event, stage_names) for event in delivery.events[:EVENTS_IN_TITLE]]
    if not texts:
        return env._("No event Odoo reads")
    more = len(delivery.events) - EVENTS_IN_TITLE
    if more > 0:
        texts.append(env._("and %s more", more))
    return "; ".join(texts)


def delivery_table(env, body):
    """The delivery's keys and values as an HTML table, every text escaped; a body that is
    not form-encoded is shown as it is, escaped too."""
    try:
        pairs = parse_qsl((body or "").strip(), keep_blank_values=True, strict_parsing=True)
    except ValueError:
        pairs = []
    if not pairs:
        return Markup('<pre class="text-wrap">%s</pre>') % (body or "")
    rows = Markup().join(
        Markup('<tr><td class="text-nowrap"><code>%s</code></td><td>%s</td></tr>') % pair
        for pair in pairs
    )
    return Markup(
        '<table class="table table-sm table-striped w-auto o_kommo_delivery">'
        "<thead><tr><th>%s</th><th>%s</th></tr></thead><tbody>%s</tbody></table>"
    ) % (env._("Key"), env._("Value"), rows)
