"""1.2.0: the account form's initial sync block shows the current sync's progress.

The block is a view of its own that extends the account form
(``view_kommo_account_form_initial_sync``). Its former arch shows fields the account no
longer has (``sync_progress``, ``synced_count``): updating the account form, which comes
first, would validate it with that former arch and stop the update. It is removed here and
created again, as it is now, when its file loads.
"""


def migrate(cr, version):
    cr.execute(
        """DELETE FROM ir_ui_view WHERE id IN (
               SELECT res_id FROM ir_model_data
                WHERE module = 'kommo_connector' AND model = 'ir.ui.view'
                  AND name = 'view_kommo_account_form_initial_sync')"""
    )
    cr.execute(
        """DELETE FROM ir_model_data
            WHERE module = 'kommo_connector' AND model = 'ir.ui.view'
              AND name = 'view_kommo_account_form_initial_sync'"""
    )
