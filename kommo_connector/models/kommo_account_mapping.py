from odoo import api, models


class KommoAccount(models.Model):
    """The mapping side of the account: its stage map follows the chosen pipeline."""

    _inherit = "kommo.account"

    @api.onchange("pipeline_id")
    def _onchange_pipeline_id_propose_stages(self):
        # Shows the proposal in the form before saving; write() applies the same rule.
        proposal = self.env["kommo.stage.map"]._kommo_proposed_stages(self.pipeline_id)
        for line in self.stage_map_ids:
            if line.stage_id.pipeline_id != self.pipeline_id:
                line.stage_id = proposal.get(line.repair_state, line.stage_id.browse())

    def write(self, vals):
        if "pipeline_id" not in vals:
            return super().write(vals)
        former = {account: account.pipeline_id for account in self}
        result = super().write(vals)
        for account in self.filtered(lambda account: account.pipeline_id != former[account]):
            self.env["kommo.stage.map"]._kommo_propose_defaults(account, refill_empty=True)
        return result
