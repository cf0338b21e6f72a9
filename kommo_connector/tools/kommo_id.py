"""The id of a Kommo entity in an Odoo column: a positive integer, or NULL for none."""

from .optional_integer import OptionalInteger


class KommoId(OptionalInteger):
    """An id given by Kommo; "none" is NULL in the database (and an empty cell), never 0.

    Odoo stores a falsy Integer as 0, and 0 is then a value like any other: two bindings whose
    leads were deleted collide on a unique (account, lead) constraint, and a delivery naming
    lead 0 finds them. NULL is what SQL means by "none": unique constraints let any number of
    rows hold it and nothing equals it. Kommo never gives the id 0, so 0 means none too.
    Kommo ids are labels, not quantities: never summed in grouped lists.
    """

    zero_is_none = True
    aggregator = None
