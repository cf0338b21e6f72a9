from odoo import api, models


class KommoDiscoveryMixin(models.AbstractModel):
    """Upsert of records mirrored from Kommo (pipelines, stages, custom fields, enums).

    Records are matched on ``kommo_id``. Items gone from Kommo are archived rather than
    deleted, so mappings that point at them keep their reference and can be flagged.
    """

    _name = "kommo.discovery.mixin"
    _description = "Kommo Discovered Record"

    @api.model
    def _kommo_upsert(self, existing, items, values_for):
        """Create, update or archive ``existing`` so that it mirrors ``items``.

        :param existing: the current records of this scope, archived ones included
        :param items: Kommo's dicts, each with an ``id``
        :param values_for: callable(item) -> dict of field values for that item
        :return: the records that mirror ``items`` (all active)
        """
        by_kommo_id = {record.kommo_id: record for record in existing}
        kept = self.browse()
        new_values = []
        for item in items:
            values = {"active": True, **values_for(item)}
            record = by_kommo_id.pop(item["id"], None)
            if record is None:
                new_values.append(values)
                continue
            changed = {
                name: value
                for name, value in values.items()
                if record._fields[name].convert_to_write(record[name], record) != value
            }
            if changed:
                record.write(changed)
            kept |= record
        gone = self.browse([record.id for record in by_kommo_id.values() if record.active])
        gone.write({"active": False})
        return kept | self.create(new_values)
