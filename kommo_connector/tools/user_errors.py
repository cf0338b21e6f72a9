"""Kommo's errors as a person meets them behind a button."""

from contextlib import contextmanager

from odoo.exceptions import UserError

from kommo_api import KommoError


@contextmanager
def kommo_error_as_user_error(text):
    """A Kommo error raised inside becomes a UserError saying ``text`` (translated, with one
    ``%s`` for Kommo's own words); the sync log has the exchange."""
    try:
        yield
    except KommoError as exc:
        raise UserError(text % exc.message) from exc
