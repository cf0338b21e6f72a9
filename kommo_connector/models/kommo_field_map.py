from odoo import api, fields, models
from odoo.exceptions import AccessError, ValidationError

from ..tools.field_path import (
    KOMMO_ENUM_TYPES,
    KOMMO_SUPPORTED_TYPES,
    ODOO_TYPES_FOR_KOMMO,
    format_value,
    kommo_type_label,
    normalize_label,
    path_label,
    resolve_path,
)

# The mappings proposed after connecting: role -> (repair order field path, names the Kommo
# lead field may already have, in Portuguese and English).
DEFAULT_ROLES = {
    "vehicle": ("product_id.display_name", ("Veículo", "Vehicle")),
    "plate": ("lot_id.name", ("Placa", "Plate", "License plate")),
    "order_number": ("name", ("Nº da OS", "Número da OS", "Order number")),
    "order_status": ("state", ("Status da OS", "Order status")),
}


class KommoFieldMap(models.Model):
    """Which repair order value is written into which custom field of the Kommo lead."""

    _name = "kommo.field.map"
    _description = "Kommo Lead Field Mapping"
    _order = "account_id, sequence, id"

    sequence = fields.Integer(default=10)
    account_id = fields.Many2one(
        "kommo.account", string="Kommo Account", required=True, ondelete="cascade", index=True
    )
    company_id = fields.Many2one(related="account_id.company_id", store=True, index=True)
    role = fields.Selection(
        [
            ("vehicle", "Vehicle"),
            ("plate", "Plate"),
            ("order_number", "Order number"),
            ("order_status", "Order status"),
            ("other", "Other"),
        ],
        required=True,
        default="other",
        help="What the value means. The connector proposes and creates the Kommo fields of "
        "the vehicle, plate, order number and order status roles.",
    )
    custom_field_id = fields.Many2one(
        "kommo.custom.field",
        string="Kommo Field",
        ondelete="set null",
        domain=f"[('account_id', '=', account_id), ('entity_type', '=', 'leads'),"
        f" ('field_type', 'in', {list(KOMMO_SUPPORTED_TYPES)!r})]",
        help="The custom field of the Kommo lead that receives the value. Empty: nothing is sent.",
    )
    custom_field_type = fields.Char(string="Kommo Type", compute="_compute_custom_field_type")
    odoo_model = fields.Char(
        compute="_compute_odoo_model",
        help="The model the repair order field is picked on (for the field picker).",
    )
    odoo_field_path = fields.Char(
        string="Repair Order Field",
        required=True,
        help="The repair order field to send: pick it, or a field of a linked record "
        "(the product's name, the serial number...).",
    )
    odoo_field_label = fields.Char(
        string="Repair Order Field Label",
        compute="_compute_odoo_field_label",
        help="The picked field as the field picker shows it, e.g. Product > Display Name.",
    )
    odoo_field_is_selection = fields.Boolean(compute="_compute_odoo_field_label")
    value_map_ids = fields.One2many(
        "kommo.field.map.value", "field_map_id", string="Kommo Options", copy=True
    )
    uses_value_map = fields.Boolean(compute="_compute_uses_value_map")
    kommo_issue = fields.Char(string="Problem", compute="_compute_kommo_issue")

    @api.depends("custom_field_id.field_type")
    @api.depends_context("lang")
    def _compute_custom_field_type(self):
        for fmap in self:
            fmap.custom_field_type = kommo_type_label(fmap.custom_field_id.field_type, self.env)

    def _compute_odoo_model(self):
        self.odoo_model = "repair.order"

    @api.depends("odoo_field_path")
    @api.depends_context("lang")
    def _compute_odoo_field_label(self):
        for fmap in self:
            chain = fmap._kommo_chain()
            fmap.odoo_field_label = path_label(chain, self.env) if chain else fmap.odoo_field_path
            fmap.odoo_field_is_selection = bool(chain) and chain[-1].type == "selection"

    @api.depends("custom_field_id.field_type")
    def _compute_uses_value_map(self):
        for fmap in self:
            fmap.uses_value_map = fmap.custom_field_id.field_type in KOMMO_ENUM_TYPES

    @api.depends(
        "custom_field_id.active", "custom_field_id.field_type", "value_map_ids.enum_id.active"
    )
    def _compute_kommo_issue(self):
        for fmap in self:
            mapped_lines = fmap.value_map_ids.filtered(lambda line: line.enum_id.active)
            if not fmap.custom_field_id:
                issue = self.env._("No Kommo field chosen: nothing is sent.")
            elif not fmap.custom_field_id.active:
                issue = self.env._("This field was deleted in Kommo: nothing is sent.")
            elif fmap.uses_value_map and not mapped_lines:
                issue = self.env._("No value has a Kommo option: nothing is sent.")
            elif fmap.uses_value_map and mapped_lines != fmap.value_map_ids:
                issue = self.env._("Values without a Kommo option are not sent.")
            else:
                issue = False
            fmap.kommo_issue = issue

    @api.constrains("odoo_field_path", "custom_field_id")
    def _check_odoo_field_path(self):
        for fmap in self:
            problem = self._kommo_path_problem(fmap.odoo_field_path, fmap.custom_field_id)
            if problem:
                raise ValidationError(problem)

    def _kommo_check_path_access(self):
        """The push reads the path as superuser: whoever sets it must be able to read it.

        Called by create and write, not a constraint: 19.0 runs constraints as superuser.
        """
        if self.env.su:
            return
        for fmap in self:
            chain, _problem = resolve_path(self.env["repair.order"], fmap.odoo_field_path)
            for field in chain:
                records = self.env[field.model_name]
                try:
                    records.check_access("read")
                except AccessError:
                    readable = False
                else:
                    # fields_get leaves out the fields the user may not read: the field check
                    # both series accept (19.0 deprecates check_field_access_rights for
                    # _check_field_access, which 18.0 lacks).
                    readable = field.name in records.fields_get([field.name], ["type"])
                if not readable:
                    raise ValidationError(
                        self.env._(
                            "You are not allowed to read “%(field)s” of %(model)s, so you "
                            "can't send it to Kommo.",
                            field=field.name,
                            model=records._description,
                        )
                    )

    @api.constrains("custom_field_id", "account_id")
    def _check_custom_field(self):
        for fmap in self.filtered("custom_field_id"):
            kommo_field = fmap.custom_field_id
            if kommo_field.account_id != fmap.account_id or kommo_field.entity_type != "leads":
                raise ValidationError(
                    self.env._("“%s” is not a lead field of this Kommo account.", kommo_field.name)
                )

    @api.constrains("custom_field_id", "role", "account_id")
    def _check_one_map_per_field_and_role(self):
        for fmap in self:
            siblings = self.search([("account_id", "=", fmap.account_id.id), ("id", "!=", fmap.id)])
            if fmap.custom_field_id and fmap.custom_field_id in siblings.custom_field_id:
                raise ValidationError(
                    self.env._("The Kommo field “%s” is mapped twice.", fmap.custom_field_id.name)
                )
            if fmap.role != "other" and fmap.role in siblings.mapped("role"):
                roles = dict(self._fields["role"]._description_selection(self.env))
                raise ValidationError(
                    self.env._("Only one mapping can have the role “%s”.", roles[fmap.role])
                )

    @api.model_create_multi
    def create(self, vals_list):
        maps = super().create(vals_list)
        maps._kommo_check_path_access()
        maps._kommo_propose_value_lines()
        return maps

    def write(self, vals):
        if "custom_field_id" in vals:
            # Options of the former field would break the option constraint.
            new_field = self.env["kommo.custom.field"].browse(vals["custom_field_id"])
            self.value_map_ids.filtered(
                lambda line: line.enum_id and line.enum_id.field_id != new_field
            ).unlink()
        result = super().write(vals)
        if "odoo_field_path" in vals:
            self._kommo_check_path_access()
        if {"custom_field_id", "odoo_field_path"} & set(vals):
            self._kommo_propose_value_lines()
        return result

    def action_edit_value_map(self):
        self.ensure_one()
        return {
            "type": "ir.actions.act_window",
            "name": self.env._("Kommo options of “%s”", self.custom_field_id.name),
            "res_model": self._name,
            "res_id": self.id,
            "view_mode": "form",
            "views": [(self.env.ref("kommo_connector.view_kommo_field_map_form").id, "form")],
            "target": "new",
        }

    def action_propose_value_lines(self):
        """Give each value without a Kommo option the option of the same name, and say what
        was matched and what was not; the dialog stays open on the proposed lines."""
        self.ensure_one()
        report = self.env["kommo.field.map.value"]._kommo_propose(self)
        message, kind = report.message(self.env)
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.env._("Kommo options of “%s”", self.custom_field_id.name),
                "message": message,
                "type": kind,
                "sticky": kind != "success",
                "next": self.action_edit_value_map(),
            },
        }

    @api.model
    def _kommo_path_problem(self, path, kommo_field):
        """Why ``path`` can't feed ``kommo_field``, in plain words; None when it can."""
        chain, problem = resolve_path(self.env["repair.order"], path)
        if problem or not kommo_field:
            return problem
        kommo_type = kommo_field.field_type
        if kommo_type not in KOMMO_SUPPORTED_TYPES:
            return self.env._(
                "The Kommo field “%(field)s” is of type %(type)s, which the connector can't write.",
                field=kommo_field.name,
                type=kommo_type,
            )
        if chain[-1].type not in ODOO_TYPES_FOR_KOMMO[kommo_type]:
            return self.env._(
                "The Kommo field “%(field)s” is of type %(type)s: “%(path)s” can't be written "
                "into it.",
                field=kommo_field.name,
                type=kommo_type,
                path=path,
            )
        return None

    def _kommo_propose_value_lines(self):
        self.env["kommo.field.map.value"]._kommo_propose(self)

    def _kommo_chain(self):
        """The fields along the path, or [] when it is not valid."""
        self.ensure_one()
        return resolve_path(self.env["repair.order"], self.odoo_field_path)[0]

    def _kommo_values(self, order):
        """The ``custom_fields_values`` entries of the Kommo lead for repair ``order``.

        Uses the maps in ``self``, or when called on an empty recordset the maps of the active
        Kommo account of the order's company. Empty values, unmapped options and fields
        deleted in Kommo are left out.
        """
        maps = self or self.search(
            [("company_id", "=", order.company_id.id), ("account_id.active", "=", True)]
        )
        entries = []
        for fmap in maps:
            kommo_field = fmap.custom_field_id
            if not kommo_field.active or kommo_field.field_type not in KOMMO_SUPPORTED_TYPES:
                continue
            chain, problem = resolve_path(order, fmap.odoo_field_path)
            if problem:
                continue
            leaf_values = order.mapped(fmap.odoo_field_path)
            if fmap.uses_value_map:
                values = fmap._kommo_option_values(leaf_values)
            else:
                values = format_value(kommo_field.field_type, chain[-1], leaf_values, self.env)
            if values:
                entries.append({"field_id": kommo_field.kommo_id, "values": values})
        return entries

    def _kommo_option_values(self, leaf_values):
        self.ensure_one()
        options = {
            normalize_label(line.odoo_value): line.enum_id.kommo_id
            for line in self.value_map_ids
            if line.enum_id.active
        }
        enum_ids = []
        for value in leaf_values:
            enum_id = options.get(normalize_label(value)) if value not in (False, None) else None
            if enum_id and enum_id not in enum_ids:
                enum_ids.append(enum_id)
        if self.custom_field_id.field_type != "multiselect":
            enum_ids = enum_ids[:1]
        return [{"enum_id": enum_id} for enum_id in enum_ids]

    @api.model
    def _kommo_field_named(self, account, names, path, exclude):
        """An active lead field of ``account`` called one of ``names`` that ``path`` can feed."""
        wanted = {normalize_label(name) for name in names}
        return (
            self.env["kommo.custom.field"]
            .search([("account_id", "=", account.id), ("entity_type", "=", "leads")])
            .filtered(
                lambda field: (
                    normalize_label(field.name) in wanted
                    and field not in exclude
                    and not self._kommo_path_problem(path, field)
                )
            )[:1]
        )

    @api.model
    def _kommo_propose_defaults(self, account):
        """Add the mappings of the vehicle / plate / order number / order status roles.

        Only roles the account has no mapping for are added, so what the admin set is never
        touched (a deleted role mapping comes back at the next refresh: to stop sending a
        value, clear its Kommo field instead). Each gets the Kommo lead field whose name
        matches, if any.
        """
        maps = self.search([("account_id", "=", account.id)])
        taken = maps.custom_field_id
        vals_list = []
        for sequence, (role, (path, names)) in enumerate(DEFAULT_ROLES.items(), start=1):
            if role in maps.mapped("role"):
                continue
            kommo_field = self._kommo_field_named(account, names, path, exclude=taken)
            taken |= kommo_field
            vals_list.append(
                {
                    "account_id": account.id,
                    "sequence": sequence,
                    "role": role,
                    "odoo_field_path": path,
                    "custom_field_id": kommo_field.id,
                }
            )
        # Proposed by the connector itself, not chosen by the user who connected.
        return self.sudo().create(vals_list).sudo(False)

    @api.model
    def _kommo_create_missing_fields(self, account, client):
        """Create in Kommo, in one call, the role fields the account lacks, then map them.

        :return: the mappings that got a newly created Kommo field
        """
        self._kommo_propose_defaults(account)
        role_maps = account.field_map_ids.filtered(lambda fmap: fmap.role in DEFAULT_ROLES)
        for fmap in role_maps.filtered(lambda fmap: not fmap.custom_field_id.active):
            # The field may have been added in Kommo since the defaults were proposed.
            names = DEFAULT_ROLES[fmap.role][1]
            taken = account.field_map_ids.custom_field_id
            fmap.custom_field_id = self._kommo_field_named(
                account, names, fmap.odoo_field_path, exclude=taken
            )
        missing = role_maps.filtered(lambda fmap: not fmap.custom_field_id)
        if not missing:
            return missing
        requests = [fmap._kommo_new_field_request() for fmap in missing]
        answers = client.create_custom_fields(requests, entity="leads") or []
        self.env["kommo.custom.field"]._kommo_refresh(account, client)
        answer_ids = {normalize_label(answer.get("name")): answer["id"] for answer in answers}
        lead_fields = self.env["kommo.custom.field"].search(
            [("account_id", "=", account.id), ("entity_type", "=", "leads")]
        )
        for position, (fmap, request) in enumerate(zip(missing, requests, strict=True)):
            kommo_id = answer_ids.get(normalize_label(request["name"]))
            if kommo_id is None and position < len(answers):
                kommo_id = answers[position]["id"]
            fmap.custom_field_id = lead_fields.filtered(lambda f, k=kommo_id: f.kommo_id == k)[:1]
        return missing

    def _kommo_new_field_request(self):
        """The Kommo custom field to create for this role mapping: select for a selection."""
        self.ensure_one()
        roles = dict(self._fields["role"]._description_selection(self.env))
        request = {"name": roles[self.role], "type": "text"}
        chain = self._kommo_chain()
        if chain and chain[-1].type == "selection":
            options = chain[-1]._description_selection(self.env)
            request["type"] = "select"
            request["enums"] = [
                {"value": label, "sort": (index + 1) * 10}
                for index, (_value, label) in enumerate(options)
            ]
        return request
