from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.compat import Constraint

# Which stage of the pipeline each repair state is proposed on: a closing kind, or the
# position among the pipeline's normal stages.
DEFAULT_STAGE_KIND = {"done": "won", "cancel": "lost"}
DEFAULT_STAGE_POSITION = {"draft": 0, "confirmed": 1, "under_repair": 2}


class KommoStageMap(models.Model):
    """Which stage of the Kommo pipeline a repair order's status corresponds to."""

    _name = "kommo.stage.map"
    _description = "Kommo Stage Mapping"
    _order = "account_id, sequence, id"

    sequence = fields.Integer(default=10)
    account_id = fields.Many2one(
        "kommo.account", string="Kommo Account", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    repair_state = fields.Selection(
        selection="_selection_repair_state", string="Repair Status", required=True
    )
    pipeline_id = fields.Many2one(related="account_id.pipeline_id", string="Pipeline")
    stage_id = fields.Many2one(
        "kommo.pipeline.stage",
        string="Kommo Stage",
        compute="_compute_stage_id",
        store=True,
        readonly=False,
        ondelete="set null",
        domain="[('pipeline_id', '=', pipeline_id)]",
        help="Empty: the lead's stage is left as it is for this status. Choosing another "
        "pipeline for the account proposes its stages again.",
    )
    kommo_issue = fields.Char(string="Problem", compute="_compute_kommo_issue")

    _repair_state_account_uniq = Constraint(
        "unique(account_id, repair_state)",
        "Each repair status can be mapped only once per Kommo account.",
    )

    @api.model
    def _selection_repair_state(self):
        return self.env["repair.order"]._fields["state"]._description_selection(self.env)

    @api.depends("account_id.pipeline_id")
    def _compute_stage_id(self):
        """Propose a stage of the account's pipeline, unless the line already has one."""
        for line in self:
            pipeline = line.account_id.pipeline_id
            if not (line.stage_id and line.stage_id.pipeline_id == pipeline):
                proposal = self._kommo_proposed_stages(pipeline)
                line.stage_id = proposal.get(line.repair_state, line.stage_id.browse())

    @api.depends(
        "stage_id.active",
        "stage_id.pipeline_id",
        "account_id.pipeline_id",
        "account_id.stage_map_ids.stage_id",
    )
    def _compute_kommo_issue(self):
        for line in self:
            stage = line.stage_id
            if not stage:
                issue = self.env._("No Kommo stage: the lead is not moved for this status.")
            elif not stage.active:
                issue = self.env._("This stage was deleted in Kommo.")
            elif stage.pipeline_id != line.account_id.pipeline_id:
                issue = self.env._("This stage is not in the account's pipeline.")
            elif line._kommo_shares_stage():
                issue = self.env._(
                    "Another status has the same stage: moving a lead to it in Kommo does not "
                    "change the repair order."
                )
            else:
                issue = False
            line.kommo_issue = issue

    def _kommo_shares_stage(self):
        # In memory rather than a search: the account form computes this on unsaved lines.
        return any(
            other != self and other.stage_id == self.stage_id
            for other in self.account_id.stage_map_ids
        )

    @api.constrains("stage_id", "account_id")
    def _check_stage_in_account_pipeline(self):
        for line in self.filtered("stage_id"):
            if line.stage_id.pipeline_id != line.account_id.pipeline_id:
                raise ValidationError(
                    self.env._(
                        "The stage “%(stage)s” is not in the pipeline “%(pipeline)s” chosen for "
                        "this Kommo account.",
                        stage=line.stage_id.name,
                        pipeline=line.account_id.pipeline_id.name or self.env._("(none)"),
                    )
                )

    @api.model
    def _kommo_proposed_stages(self, pipeline):
        """The proposed stage of each repair state in ``pipeline`` (absent when none fits)."""
        stages = pipeline.stage_ids.filtered("active").sorted(lambda stage: (stage.sort, stage.id))
        normal = stages.filtered(lambda stage: stage.kind == "normal")
        proposal = {
            state: stages.filtered(lambda stage, kind=kind: stage.kind == kind)[:1]
            for state, kind in DEFAULT_STAGE_KIND.items()
        }
        proposal.update(
            {
                state: normal[position : position + 1]
                for state, position in DEFAULT_STAGE_POSITION.items()
            }
        )
        return proposal

    @api.model
    def _kommo_propose_defaults(self, account):
        """Give every repair state a mapping line, with the proposed stage.

        Lines the admin set are kept, except those whose stage is no longer usable (archived
        in Kommo, or in another pipeline): they get the proposal. An empty stage is the
        admin's choice ("don't move the lead"), so it is kept too; only choosing another
        pipeline for the account proposes every stage again (``_compute_stage_id``).
        """
        pipeline = account.pipeline_id
        proposal = self._kommo_proposed_stages(pipeline)
        lines = {line.repair_state: line for line in self.search([("account_id", "=", account.id)])}
        new_lines = []
        states = self.env["repair.order"]._fields["state"].get_values(self.env)
        for sequence, state in enumerate(states, start=1):
            proposed = proposal.get(state, self.env["kommo.pipeline.stage"])
            line = lines.get(state)
            if line is None:
                new_lines.append(
                    {
                        "account_id": account.id,
                        "sequence": sequence,
                        "repair_state": state,
                        "stage_id": proposed.id,
                    }
                )
                continue
            usable = line.stage_id.active and line.stage_id.pipeline_id == pipeline
            if line.stage_id and not usable:
                line.stage_id = proposed
        return self.create(new_lines)

    @api.model
    def _kommo_stage_for_state(self, account, state):
        """The Kommo stage a repair order in ``state`` belongs on; empty when none is usable."""
        stage = self.search(
            [("account_id", "=", account.id), ("repair_state", "=", state)], limit=1
        ).stage_id
        if stage.active and stage.pipeline_id == account.pipeline_id:
            return stage
        return self.env["kommo.pipeline.stage"]

    @api.model
    def _repair_state_for_stage(self, account, pipeline_kommo_id, status_kommo_id):
        """The repair state of a lead now on Kommo stage ``status_kommo_id``; False if unknown.

        Only the account's pipeline counts (an empty ``pipeline_kommo_id`` means that one). When
        several states share the stage, the move does not say which one is meant, so False is
        returned unless exactly one state maps to it.
        """
        pipeline = account.pipeline_id
        if not pipeline or (pipeline_kommo_id and pipeline_kommo_id != pipeline.kommo_id):
            return False
        lines = self.search(
            [
                ("account_id", "=", account.id),
                ("stage_id.pipeline_id", "=", pipeline.id),
                ("stage_id.kommo_id", "=", status_kommo_id),
            ]
        )
        return lines.repair_state if len(lines) == 1 else False
