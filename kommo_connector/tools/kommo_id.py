"""The id of a Kommo entity in an Odoo column: a positive integer, or NULL for none."""

from odoo import fields


class KommoId(fields.Integer):
    """An Integer field whose "none" is NULL in the database, never 0.

    Odoo stores a falsy Integer as 0, and 0 is then a value like any other: two bindings whose
    leads were deleted collide on a unique (account, lead) constraint, and a delivery naming
    lead 0 finds them. NULL is what SQL means by "none": unique constraints let any number of
    rows hold it and nothing equals it. In Python the value reads 0 as for any Integer.
    Kommo ids are labels, not quantities: never summed in grouped lists.
    """

    aggregator = None

    def convert_to_column(self, value, record, values=None, validate=True):
        return int(value) if value else None

    def convert_to_cache(self, value, record, validate=True):
        return int(value) if value else None
