from odoo import api, fields, models
from odoo.tools import SQL
from odoo.tools.sql import create_index

from ..tools.kommo_id import KommoId

# Rows a single INSERT carries when a whole contact list is stored (as two arrays).
INSERT_CHUNK = 10000


class KommoContactKey(models.Model):
    """A phone (E.164) or e-mail of a contact in Kommo, as the push last read Kommo's contact
    list: new customers are matched against these instead of reading the whole list again
    (``tools/contact_index.py``).

    Rows are written and read with plain SQL, in bulk (a list of tens of thousands of
    contacts); the model exists so the table is created, documented and dropped with the
    module.
    """

    _name = "kommo.contact.key"
    _description = "Phone or e-mail of a Kommo contact"
    _log_access = False

    account_id = fields.Many2one("kommo.account", required=True, ondelete="cascade", readonly=True)
    kommo_contact_id = KommoId("Kommo contact ID", required=True, readonly=True)
    key = fields.Char(
        required=True, readonly=True, help="A phone number in E.164, or a lower-cased e-mail."
    )

    def init(self):
        cr = self.env.cr
        create_index(cr, "kommo_contact_key_lookup_index", self._table, ["account_id", "key"])
        create_index(
            cr, "kommo_contact_key_contact_index", self._table, ["account_id", "kommo_contact_id"]
        )

    @api.model
    def _kommo_store(self, account, keys, contact_ids=None):
        """Store ``keys``, ``(contact id, key)`` pairs of ``account``'s contacts, instead of
        all the keys the account had (``contact_ids`` None: the whole list was read), or of
        the keys of the contacts ``contact_ids`` (contacts read again, or gone)."""
        cr = self.env.cr
        if contact_ids is None:
            cr.execute(SQL("DELETE FROM kommo_contact_key WHERE account_id = %s", account.id))
        elif contact_ids:
            cr.execute(
                SQL(
                    """DELETE FROM kommo_contact_key
                        WHERE account_id = %s AND kommo_contact_id IN %s""",
                    account.id,
                    tuple(contact_ids),
                )
            )
        keys = list(keys)
        for start in range(0, len(keys), INSERT_CHUNK):
            contact_ids, values = zip(*keys[start : start + INSERT_CHUNK], strict=True)
            cr.execute(
                SQL(
                    """INSERT INTO kommo_contact_key (account_id, kommo_contact_id, key)
                       SELECT %s, contact_id, key FROM unnest(%s::int8[], %s::varchar[])
                                                    AS pair(contact_id, key)""",
                    account.id,
                    list(contact_ids),
                    list(values),
                )
            )
        self.invalidate_model()

    @api.model
    def _kommo_holders(self, account, keys):
        """``{key: [contact ids, lowest first]}`` for the stored keys among ``keys``."""
        if not keys:
            return {}
        self.env.cr.execute(
            SQL(
                """SELECT key, kommo_contact_id FROM kommo_contact_key
                    WHERE account_id = %s AND key IN %s ORDER BY kommo_contact_id""",
                account.id,
                tuple(keys),
            )
        )
        holders = {}
        for key, contact_id in self.env.cr.fetchall():
            holders.setdefault(key, []).append(contact_id)
        return holders
