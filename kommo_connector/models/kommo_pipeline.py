from odoo import api, fields, models

from ..tools.compat import Constraint
from ..tools.kommo_id import KommoId


class KommoPipeline(models.Model):
    """A sales pipeline of the connected Kommo account (read-only mirror)."""

    _name = "kommo.pipeline"
    _inherit = ["kommo.discovery.mixin"]
    _description = "Kommo Pipeline"
    _order = "account_id, sort, id"

    account_id = fields.Many2one(
        "kommo.account", string="Kommo Account", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    kommo_id = KommoId(string="Kommo ID", required=True, readonly=True)
    name = fields.Char(required=True, readonly=True)
    sort = fields.Integer(readonly=True)
    is_main = fields.Boolean(string="Main Pipeline", readonly=True)
    active = fields.Boolean(
        default=True,
        readonly=True,
        help="Archived when the pipeline was deleted or archived in Kommo.",
    )
    stage_ids = fields.One2many("kommo.pipeline.stage", "pipeline_id", string="Stages")

    _kommo_id_account_uniq = Constraint(
        "unique(account_id, kommo_id)", "A Kommo pipeline is imported only once per account."
    )

    @api.model
    def _kommo_refresh(self, account, client):
        """Mirror the account's Kommo pipelines and their stages.

        Pipelines are written with sudo: they are Kommo's data, not the user's, and even
        managers only read them. When the account has no usable pipeline yet, the main one
        is chosen for it.
        """
        pipelines_api = client.get_pipelines() or []
        pipeline_model = self.sudo().with_context(active_test=False)
        existing = pipeline_model.search([("account_id", "=", account.id)])
        pipelines = pipeline_model._kommo_upsert(
            existing,
            pipelines_api,
            lambda item: {
                "account_id": account.id,
                "kommo_id": item["id"],
                "name": item.get("name") or str(item["id"]),
                "sort": item.get("sort") or 0,
                "is_main": bool(item.get("is_main")),
                "active": not item.get("is_archive"),
            },
        )
        by_kommo_id = {pipeline.kommo_id: pipeline for pipeline in pipelines}
        for item in pipelines_api:
            statuses = (item.get("_embedded") or {}).get("statuses") or []
            self.env["kommo.pipeline.stage"]._kommo_refresh_pipeline(
                by_kommo_id[item["id"]], statuses
            )
        chosen = account.pipeline_id
        if not chosen or not chosen.active:
            usable = pipelines.filtered("active").sorted(lambda p: (not p.is_main, p.sort, p.id))
            if usable[:1] != chosen:
                account.sudo().pipeline_id = usable[:1]
        return pipelines.with_env(self.env)
