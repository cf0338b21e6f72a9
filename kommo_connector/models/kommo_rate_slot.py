from odoo import fields, models


class KommoRateSlot(models.Model):
    """Recent request times per Kommo account: the log behind the shared throttle.

    Rows are written and pruned by ``tools.throttle.PgThrottle`` with plain SQL under an
    advisory lock; the model exists so the table is created, documented and dropped with the
    module.
    """

    _name = "kommo.rate.slot"
    _description = "Kommo request slot (throttle)"
    _log_access = False

    key = fields.Char(required=True, index=True, help="The Kommo account host")
    sent_at = fields.Float(
        required=True, help="Database clock (seconds since the epoch) when the request left"
    )
