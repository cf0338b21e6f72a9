"""The sync log's operations in plain words, in one place; long texts shortened for lists.

The code of an operation (``push_notes``) is what the connector writes and searches by;
people read the label ("Send diagnosis notes"). An operation added elsewhere without a
label here shows its code until it gets one.
"""

from odoo.tools.translate import LazyTranslate

_lt = LazyTranslate(__name__)

# A module-level table has no env: _lt (LazyTranslate) is Odoo's way, translated later with
# env._(term). pylint-odoo 9.3 counts _lt as _ in prefer-env-translation (10.0 no longer does).
# pylint: disable=prefer-env-translation
OPERATION_LABELS = {
    "api_call": _lt("Call Kommo"),
    "connect": _lt("Connect to Kommo"),
    "refresh_token": _lt("Renew the access to Kommo"),
    "test_connection": _lt("Test the connection"),
    "discovery": _lt("Read pipelines and fields"),
    "create_fields": _lt("Create the missing fields"),
    "webhook_register": _lt("Register the webhook"),
    "webhook_unregister": _lt("Remove the webhook"),
    "webhook_check": _lt("Check the webhook"),
    "lead_lookup": _lt("Look for the order's lead"),
    "note_lookup": _lt("Look for a note sent without an answer"),
    "sync_preview": _lt("Preview the initial sync"),
    "push_leads": _lt("Send repair orders"),
    "update_leads": _lt("Update leads"),
    "contact_list": _lt("Read the contact list"),
    "contact_search": _lt("Look for the customer's contact"),
    "push_contacts": _lt("Create contacts"),
    "push_notes": _lt("Send diagnosis notes"),
    "link_contacts": _lt("Link the customer's contact to the lead"),
    "unlink_contacts": _lt("Unlink the former customer's contact"),
    "lead_merged": _lt("Lead merged by Kommo's duplicate control"),
    "reconcile": _lt("Read the leads changed in Kommo"),
    "reconcile_stage": _lt("Apply a stage read from Kommo"),
    "webhook_stage": _lt("Apply a stage change from Kommo"),
    "retry_stage": _lt("Apply Kommo's stage again"),
    "webhook_lead_deleted": _lt("Lead deleted in Kommo"),
}
# pylint: enable=prefer-env-translation


def operation_label(env, code):
    """``code`` in words, in ``env``'s language; an unknown code as it is."""
    label = OPERATION_LABELS.get(code)
    return env._(label) if label else code


def operation_codes(env, text, exact=False):
    """The codes whose label (in ``env``'s language) contains ``text``, or is ``text`` when
    ``exact``; case aside."""
    wanted = (text or "").casefold()
    return [
        code
        for code, label in OPERATION_LABELS.items()
        if (wanted == env._(label).casefold() if exact else wanted in env._(label).casefold())
    ]


# A text as a list shows it: one line, this long at most (the form shows all of it).
LIST_TEXT_CHARS = 90


def one_line(text, limit=LIST_TEXT_CHARS):
    """The first line of ``text``, cut at ``limit`` characters with an ellipsis; False for
    none. An error or a reason many lines long must not take half of a list's width."""
    line, _newline, more = (text or "").strip().partition("\n")
    line = line.strip()
    if len(line) > limit or more.strip():
        line = line[: limit - 1].rstrip() + "…"
    return line or False
