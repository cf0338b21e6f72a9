"""Integer columns whose "none" is NULL and an empty cell on screen, never 0."""

from odoo import fields


class OptionalInteger(fields.Integer):
    """An Integer that can be unknown: a duration nobody measured, the HTTP status of an
    exchange that got no answer (or of a webhook, which has none).

    Odoo stores a falsy Integer as 0 and reads NULL back as 0, so a log of news from Kommo
    showed "HTTP status 0": a value that never happened. Here None and False are NULL, and
    NULL reads as False, which the web client shows as an empty cell and Python compares
    equal to 0. ``zero_is_none``: 0 means none too (no HTTP status is 0), which also
    empties the 0 that rows written before this field were given. Kommo's ids are ones
    (tools/kommo_id.py).
    """

    zero_is_none = False

    def _is_none(self, value):
        return value is None or value is False or (self.zero_is_none and value == 0)

    def convert_to_column(self, value, record, values=None, validate=True):
        return None if self._is_none(value) else int(value)

    def convert_to_cache(self, value, record, validate=True):
        return None if self._is_none(value) else int(value)

    def convert_to_record(self, value, record):
        return False if value is None else value
