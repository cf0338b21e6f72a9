from odoo import api, fields, models

from ..tools.compat import Constraint
from ..tools.kommo_id import KommoId

# Kommo's system stages, present in every pipeline.
KOMMO_STATUS_WON = 142
KOMMO_STATUS_LOST = 143
# Kommo's status "type": 1 marks the "Incoming leads" stage (unsorted leads).
KOMMO_STATUS_TYPE_INCOMING = 1


class KommoPipelineStage(models.Model):
    """A stage (Kommo "status") of a Kommo pipeline (read-only mirror)."""

    _name = "kommo.pipeline.stage"
    _inherit = ["kommo.discovery.mixin"]
    _description = "Kommo Pipeline Stage"
    _order = "pipeline_id, sort, id"

    pipeline_id = fields.Many2one(
        "kommo.pipeline", string="Pipeline", required=True, ondelete="cascade", index=True
    )
    account_id = fields.Many2one(
        related="pipeline_id.account_id", string="Kommo Account", store=True, index=True
    )
    company_id = fields.Many2one(related="pipeline_id.company_id", store=True, index=True)
    kommo_id = KommoId(string="Kommo ID", required=True, readonly=True)
    name = fields.Char(required=True, readonly=True)
    sort = fields.Integer(readonly=True)
    color = fields.Char(readonly=True, help="Kommo's colour of the stage, e.g. #fffeb2.")
    kind = fields.Selection(
        [
            ("incoming", "Incoming leads"),
            ("normal", "Normal"),
            ("won", "Closed - won"),
            ("lost", "Closed - lost"),
        ],
        required=True,
        default="normal",
        readonly=True,
        help="Won (142) and lost (143) are Kommo's closing stages, present in every pipeline. "
        "Incoming leads is Kommo's inbox stage, which leads can't be moved into.",
    )
    active = fields.Boolean(
        default=True, readonly=True, help="Archived when the stage was deleted in Kommo."
    )

    _kommo_id_pipeline_uniq = Constraint(
        "unique(pipeline_id, kommo_id)", "A Kommo stage is imported only once per pipeline."
    )

    @api.model
    def _kommo_kind(self, status):
        if status["id"] == KOMMO_STATUS_WON:
            return "won"
        if status["id"] == KOMMO_STATUS_LOST:
            return "lost"
        if status.get("type") == KOMMO_STATUS_TYPE_INCOMING:
            return "incoming"
        return "normal"

    @api.model
    def _kommo_refresh_pipeline(self, pipeline, statuses):
        """Mirror ``statuses`` (Kommo's ``_embedded.statuses``) as the stages of ``pipeline``."""
        stage_model = self.sudo().with_context(active_test=False)
        existing = stage_model.search([("pipeline_id", "=", pipeline.id)])
        return stage_model._kommo_upsert(
            existing,
            statuses,
            lambda status: {
                "pipeline_id": pipeline.id,
                "kommo_id": status["id"],
                "name": status.get("name") or str(status["id"]),
                "sort": status.get("sort") or 0,
                "color": status.get("color") or False,
                "kind": self._kommo_kind(status),
            },
        )
