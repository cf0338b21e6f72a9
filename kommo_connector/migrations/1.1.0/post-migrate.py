"""1.1.0: Kommo ids whose "none" is NULL; the phone region as a country.

The folder has the manifest's version, without a series, as the manifest (README "Odoo 18 and
19"): Odoo runs it when the addon's own version goes past 1.1.0 (18.0.1.0.x to 18.0.1.1.0, as
when it was named 18.0.1.1.0), and not again when only the series changes (18.0.1.1.0 to
19.0.1.1.0).

Kommo ids: "none" is NULL, never 0 (tools/kommo_id.py).

Before 1.1.0 a forgotten id (a lead deleted in Kommo, say) was stored as 0, and two
such bindings of one account collided on the unique (account, lead) constraint.
"""

from odoo.tools import SQL
from odoo.tools.sql import column_exists

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
    _kommo_ids_null(cr)
    # The sync log's "none" too: no HTTP status (inbound rows), no Kommo id.
    cr.execute("UPDATE kommo_sync_log SET http_status = NULL WHERE http_status = 0")
    cr.execute("UPDATE kommo_sync_log SET kommo_id = NULL WHERE kommo_id = '0'")
    _phone_country_from_region(cr)


def _phone_country_from_region(cr):
    """The phone region was typed as an ISO code; it is a country picked from a list now."""
    if column_exists(cr, "kommo_account", "phone_region"):
        cr.execute(
            """UPDATE kommo_account account SET phone_country_id = country.id
                 FROM res_country country
                WHERE account.phone_country_id IS NULL
                  AND country.code = upper(trim(account.phone_region))"""
        )


def _kommo_ids_null(cr):
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
