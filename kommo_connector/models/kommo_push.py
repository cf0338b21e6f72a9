import psycopg2.errors

from odoo import api, models

from ..tools.cursors import held_by_caller
from ..tools.push_leads import LeadPush

# Option -> (system parameter, default). Kommo takes at most 50 entities per write call.
PUSH_PARAMETERS = {
    "batch_size": ("kommo_connector.push_batch_size", 50),
    "claim_limit": ("kommo_connector.push_claim_limit", 10000),
    "max_attempts": ("kommo_connector.push_max_attempts", 5),
    "lease_seconds": ("kommo_connector.push_lease_seconds", 600),
}
MAX_BATCH_SIZE = 50


class KommoPush(models.AbstractModel):
    """Sends repair orders to Kommo (tools/push_run.py and tools/push_leads.py do the work)."""

    _name = "kommo.push"
    _description = "Kommo push engine"

    @api.model
    def _kommo_push_options(self, **overrides):
        """Batch size, claim limit, attempts and lease: arguments, else system parameters."""
        params = self.env["ir.config_parameter"].sudo()
        options = {}
        for key, (param, default) in PUSH_PARAMETERS.items():
            value = overrides.get(key)
            if value is None:
                try:
                    value = int(params.get_param(param, default))
                except (TypeError, ValueError):
                    value = default
            options[key] = max(1, int(value))
        options["batch_size"] = min(options["batch_size"], MAX_BATCH_SIZE)
        return options

    @api.model
    def _kommo_push_accounts(self, account_ids=None, batch_size=None, claim_limit=None):
        """Push the pending orders of every connected account (or of ``account_ids``) with
        that account's own credentials. Returns the number of orders now synced."""
        self.env.flush_all()
        options = self._kommo_push_options(batch_size=batch_size, claim_limit=claim_limit)
        domain = [("state", "=", "connected")]
        if account_ids:
            domain.append(("id", "in", list(account_ids)))
        pushed = remaining = 0
        for account in self.env["kommo.account"].sudo().search(domain):
            if not account._kommo_can_push():
                continue
            run = LeadPush(self.sudo().env, account, options).execute()
            pushed += run.pushed
            if not run.stopped:
                remaining += run.claimable_count()
        self.env.invalidate_all()
        # Orders left over (claim limit, changes during the run) make the cron run again soon.
        self.env["ir.cron"]._notify_progress(done=pushed, remaining=remaining)
        return pushed

    @api.model
    def _kommo_held_by_caller(self, orders):
        """Whether the caller's open transaction created or changed these orders or their
        bindings: the push then runs in it (tools/cursors.py)."""
        bindings = self.env["kommo.lead.binding"].sudo().search([("repair_id", "in", orders.ids)])
        return held_by_caller(self.env, "repair_order", orders.ids) or (
            bindings and held_by_caller(self.env, "kommo_lead_binding", bindings.ids)
        )

    @api.model
    def _kommo_push_orders(self, orders):
        """Push ``orders`` now, whatever their state (the "Sync Kommo" button).

        Returns ``{order: (state, message)}``; state is the binding's sync state, or
        ``busy`` when another worker is pushing the order right now.
        """
        self.env.flush_all()
        options = self._kommo_push_options()
        results = {}
        accounts = self.env["kommo.account"].sudo()
        for company in orders.company_id:
            account = accounts._kommo_for_company(company)
            company_orders = orders.filtered(
                lambda order, company=company: order.company_id == company
            )
            if not account:
                continue
            run = LeadPush(self.sudo().env, account, options, force=True, records=company_orders)
            run.own_transactions = not self._kommo_held_by_caller(company_orders)
            try:
                # (binding id, order id) pairs: a binding created by the push's own committed
                # transaction is invisible to this one's older snapshot (REPEATABLE READ), so
                # the answer must not be read through this cursor.
                pairs = run.in_transaction(
                    lambda env, ids=company_orders.ids: [
                        (binding.id, binding.repair_id.id)
                        for binding in env["kommo.lead.binding"]._kommo_bindings_for(
                            env["repair.order"].browse(ids)
                        )
                    ]
                )
                run.execute([binding_id for binding_id, _order_id in pairs])
            except psycopg2.errors.LockNotAvailable:
                pairs = []
            for binding_id, order_id in pairs:
                order = company_orders.browse(order_id)
                results[order] = run.results.get(binding_id, ("busy", None))
            for order in company_orders:
                results.setdefault(order, ("busy", None))
        self.env.invalidate_all()
        return results
