from dataclasses import dataclass, field

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..tools.compat import Constraint
from ..tools.field_path import normalize_label, selection_labels


@dataclass
class OptionProposal:
    """What "Propose options" did, told back to the person who pressed it: guessing
    silently leaves them to find out value by value which lines stayed empty."""

    matched: list = field(default_factory=list)  # (Odoo value's label, Kommo option)
    unmatched: list = field(default_factory=list)  # Odoo values' labels
    kept: list = field(default_factory=list)  # (Odoo value's label, Kommo option)
    not_a_list: list = field(default_factory=list)  # labels of fields without fixed values

    def message(self, env):
        """``(text, notification type)``."""

        def pairs(items):
            return ", ".join(f"{label} → {option}" for label, option in items)

        parts = []
        if self.matched:
            parts.append(env._("Matched by name: %s.", pairs(self.matched)))
        if self.unmatched:
            parts.append(
                env._(
                    "No Kommo option is named like %s: pick their options yourself.",
                    ", ".join(self.unmatched),
                )
            )
        if self.kept:
            parts.append(env._("Kept as you set them: %s.", pairs(self.kept)))
        if self.not_a_list:
            parts.append(
                env._(
                    "“%s” has no fixed list of values: add a line per value and pick its "
                    "option yourself.",
                    ", ".join(self.not_a_list),
                )
            )
        if not parts:
            return env._("Nothing to propose: the Odoo field has no values."), "info"
        if self.unmatched or self.not_a_list:
            return " ".join(parts), "warning"
        return " ".join(parts), "success" if self.matched else "info"


class KommoFieldMapValue(models.Model):
    """Which option of a Kommo select field an Odoo value becomes."""

    _name = "kommo.field.map.value"
    _description = "Kommo Option Mapping"
    _order = "field_map_id, id"

    field_map_id = fields.Many2one(
        "kommo.field.map", string="Field Mapping", required=True, ondelete="cascade", index=True
    )
    account_id = fields.Many2one(related="field_map_id.account_id", store=True, index=True)
    company_id = fields.Many2one(related="field_map_id.company_id", store=True, index=True)
    custom_field_id = fields.Many2one(related="field_map_id.custom_field_id")
    odoo_value = fields.Char(
        string="Stored Value",
        required=True,
        help="The value as Odoo stores it, e.g. draft or done for the repair status.",
    )
    odoo_value_label = fields.Char(
        string="Odoo Value",
        compute="_compute_odoo_value_label",
        help="The value as Odoo shows it, e.g. New or Repaired for the repair status.",
    )
    enum_id = fields.Many2one(
        "kommo.custom.field.enum",
        string="Kommo Option",
        ondelete="set null",
        domain="[('field_id', '=', custom_field_id)]",
        help="Empty: the value is not sent.",
    )

    _odoo_value_uniq = Constraint(
        "unique(field_map_id, odoo_value)", "Each Odoo value can have only one Kommo option."
    )

    @api.depends("odoo_value", "field_map_id.odoo_field_path")
    @api.depends_context("lang")
    def _compute_odoo_value_label(self):
        for line in self:
            chain = line.field_map_id._kommo_chain() if line.field_map_id else []
            labels = {}
            if chain and chain[-1].type == "selection":
                labels = dict(chain[-1]._description_selection(self.env))
            line.odoo_value_label = labels.get(line.odoo_value, line.odoo_value)

    @api.constrains("enum_id", "field_map_id")
    def _check_enum_belongs_to_field(self):
        for line in self.filtered("enum_id"):
            if line.enum_id.field_id != line.field_map_id.custom_field_id:
                raise ValidationError(
                    self.env._(
                        "“%(option)s” is not an option of the Kommo field “%(field)s”.",
                        option=line.enum_id.value,
                        field=line.field_map_id.custom_field_id.name,
                    )
                )

    @api.model
    def _kommo_propose(self, field_maps):
        """One line per value of a selection field (e.g. the status) sent to a Kommo list
        field, with the Kommo option named like the value's label in any installed language
        (case, accents and spacing aside: "Concluída" is "concluida"). Lines that have an
        option are kept as the admin set them; lines without one get it once Kommo has it.

        :return: an OptionProposal saying what was matched and what was not
        """
        report = OptionProposal()
        for fmap in field_maps.filtered("uses_value_map"):
            chain = fmap._kommo_chain()
            if not chain or chain[-1].type != "selection":
                report.not_a_list.append(fmap.odoo_field_label)
                continue
            options = {}
            for option in fmap.custom_field_id.enum_ids.filtered("active"):
                options.setdefault(normalize_label(option.value), option)
            lines = {line.odoo_value: line for line in fmap.value_map_ids}
            new_lines = []
            for value, labels in selection_labels(chain[-1], self.env).items():
                line = lines.get(value)
                if line and line.enum_id:
                    report.kept.append((labels[0], line.enum_id.value))
                    continue
                option = next(
                    (options[key] for key in map(normalize_label, labels) if key in options),
                    self.env["kommo.custom.field.enum"],
                )
                if option:
                    report.matched.append((labels[0], option.value))
                else:
                    report.unmatched.append(labels[0])
                if line and option:
                    line.enum_id = option
                elif not line:
                    new_lines.append(
                        {"field_map_id": fmap.id, "odoo_value": value, "enum_id": option.id}
                    )
            self.create(new_lines)
        return report
