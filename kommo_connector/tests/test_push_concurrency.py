from collections import Counter

from odoo import SUPERUSER_ID, api
from odoo.tests import tagged

from .common import KommoCommittedCase, run_workers

ORDER_COUNT = 20


def stock_groups(orders):
    """(model, ids) of what confirming would group the orders' moves under, created with the
    orders: a procurement group on 18.0, stock references on 19.0."""
    if "procurement_group_id" in orders._fields:
        return "procurement.group", orders.procurement_group_id.ids
    return "stock.reference", orders.reference_ids.ids


@tagged("post_install", "-at_install")
class TestPushAcrossWorkers(KommoCommittedCase):
    """Two Odoo workers running the push cron at the same moment, each with its own
    database cursor: every order must reach Kommo exactly once."""

    def committed_orders(self, count, customers=None):
        """Repair orders of distinct customers (or of ``customers`` customers, in turn),
        committed; deleted again after the test."""
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            triggers = env["ir.cron.trigger"].search([], order="id desc", limit=1).id
            product = env["product.product"].create({"name": "Honda CG 160", "type": "consu"})
            partners = env["res.partner"].create(
                [
                    {"name": f"Paralelo {i}", "phone": f"+55 11 9{6000 + i:04d}-{i:04d}"}
                    for i in range(customers or count)
                ]
            )
            orders = env["repair.order"].create(
                [
                    {"product_id": product.id, "partner_id": partners[i % len(partners)].id}
                    for i in range(count)
                ]
            )
            created = (orders.ids, stock_groups(orders), partners.ids, product.id)
        self.addCleanup(self._delete_orders, created, triggers)
        return created[0]

    def _delete_orders(self, created, last_trigger_before):
        order_ids, group_ids, partner_ids, product_id = created
        with self.registry.cursor() as cr:
            env = api.Environment(cr, SUPERUSER_ID, {})
            env["repair.order"].browse(order_ids).unlink()
            env[group_ids[0]].browse(group_ids[1]).unlink()
            env["res.partner"].browse(partner_ids).unlink()
            env["product.product"].browse(product_id).product_tmpl_id.unlink()
            env["ir.cron.trigger"].search([("id", ">", last_trigger_before)]).unlink()

    def push_in_worker(self, account_id):
        return self.in_worker(
            account_id,
            lambda account: account.env["kommo.lead.binding"]._cron_push(
                batch_size=5, claim_limit=ORDER_COUNT // 2, account_ids=account.ids
            ),
        )

    def test_two_workers_pushing_at_once_send_each_order_once(self):
        account_id = self.committed_account()
        order_ids = self.committed_orders(ORDER_COUNT)
        results, errors = run_workers(2, lambda: self.push_in_worker(account_id))
        self.assertEqual(errors, [])
        self.assertEqual(sorted(results), [ORDER_COUNT // 2] * 2, "the work was shared")
        names = self.in_worker(
            account_id,
            lambda account: account.env["repair.order"].browse(order_ids).mapped("name"),
        )
        sent = Counter(
            lead["request_id"]
            for call in self.emu.calls("POST", "/api/v4/leads/complex")
            for lead in call.json
        )
        self.assertEqual(len(sent), ORDER_COUNT)
        self.assertEqual(set(sent.values()), {1}, "no order was sent twice")
        leads = Counter(lead["name"].split(" - ")[0] for lead in self.emu.store.leads.values())
        self.assertEqual({name: leads[name] for name in names}, dict.fromkeys(names, 1))
        states = self.in_worker(
            account_id,
            lambda account: (
                account.env["kommo.lead.binding"]
                .search([("repair_id", "in", order_ids)])
                .mapped("sync_state")
            ),
        )
        self.assertEqual(states, ["synced"] * ORDER_COUNT)

    def test_only_the_new_customer_another_worker_is_at_waits(self):
        account_id = self.committed_account()
        # Orders 0 and 2 are of one new customer, order 1 of another.
        held, other, waiting = self.committed_orders(3, customers=2)
        with self.registry.cursor() as cr:
            # Another worker is stamping order 0: it holds the row while it sends the lead.
            cr.execute("SELECT id FROM kommo_lead_binding WHERE repair_id = %s FOR UPDATE", [held])
            self.push_in_worker(account_id)
        bindings = self.in_worker(
            account_id,
            lambda account: {
                binding.repair_id.id: (
                    binding.sync_state,
                    binding.attempt_count,
                    bool(binding.next_attempt_at),
                )
                for binding in account.env["kommo.lead.binding"].search(
                    [("repair_id", "in", [held, other, waiting])]
                )
            },
        )
        self.assertEqual(bindings[other], ("synced", 0, False), "the other customer went")
        self.assertEqual(
            bindings[waiting], ("pending", 0, True), "her order waits, not a failed attempt"
        )
        self.assertEqual(bindings[held][0], "pending", "the other worker's order was not taken")
        self.assertEqual(len(self.emu.calls("POST", "/api/v4/leads/complex")), 1)

    def test_sync_kommo_on_an_order_older_than_the_account_reports_success(self):
        # The order has no binding yet: the push creates and commits it in a transaction of
        # its own, which the button's transaction (an older snapshot) cannot see.
        (order_id,) = self.committed_orders(1)
        account_id = self.committed_account()

        def press_sync_kommo(account):
            admin = account.env.ref("base.user_admin")
            order = account.env["repair.order"].with_user(admin).browse(order_id)
            self.assertEqual(order.kommo_sync_state, "not_synced")
            return order.action_kommo_sync()

        action = self.in_worker(account_id, press_sync_kommo)
        self.assertEqual(action["params"]["type"], "success", action["params"]["message"])
        self.assertEqual(len(self.emu.calls("POST", "/api/v4/leads/complex")), 1)
