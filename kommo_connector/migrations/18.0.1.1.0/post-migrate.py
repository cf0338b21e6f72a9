"""Kommo ids: "none" is NULL, never 0 (tools/kommo_id.py).

Before 18.0.1.1.0 a forgotten id (a lead deleted in Kommo, say) was stored as 0, and two
such bindings of one account collided on the unique (account, lead) constraint.
"""

from odoo.tools import SQL

KOMMO_ID_COLUMNS = {
    "kommo_lead_binding": (
        "kommo_lead_id",
        "kommo_contact_id",
        "kommo_pipeline_id",
        "kommo_status_id",
    ),
    "kommo_account": ("kommo_account_id",),
}


def migrate(cr, version):
    for table, columns in KOMMO_ID_COLUMNS.items():
        for column in columns:
            cr.execute(
                SQL(
                    "UPDATE %s SET %s = NULL WHERE %s <= 0",
                    SQL.identifier(table),
                    SQL.identifier(column),
                    SQL.identifier(column),
                )
            )
