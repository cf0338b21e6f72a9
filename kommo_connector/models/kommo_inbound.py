"""What Kommo tells Odoo (webhooks and the reconciliation poll), applied to repair orders.

One entry point for a lead's stage, ``_apply_lead_state``, serves webhooks and the poll, so
a missed webhook heals the same way a delivered one applies. Echoes of Odoo's own pushes
change nothing: a lead already on the stage Odoo knows, or news older than what Odoo knows.
"""

import logging
from datetime import timedelta

from markupsafe import Markup

from odoo import api, fields, models
from odoo.exceptions import UserError, ValidationError

from kommo_api import EventType, KommoError

from ..tools.cursors import account_in_own_transaction, auto_commit
from ..tools.datetimes import from_unix_time, naive_utc, unix_time
from ..tools.repair_states import repair_actions

_logger = logging.getLogger(__name__)

LEAD_STAGE_EVENTS = (EventType.LEAD_STATUS_CHANGED, EventType.LEAD_UPDATED)

# Leads read again before the last poll: covers the clocks of Odoo and Kommo disagreeing
# and a lead changed while the previous poll was reading.
RECONCILE_OVERLAP = timedelta(minutes=5)
# How far back the first poll of an account looks.
RECONCILE_FIRST_WINDOW = timedelta(days=1)
RECONCILE_PAGE_SIZE = 250


class KommoInbound(models.AbstractModel):
    _name = "kommo.inbound"
    _description = "Kommo changes applied to Odoo"

    # -- webhook events ---------------------------------------------------------------------

    @api.model
    def _apply_webhook_event(self, account, event):
        """Apply one event of a delivery. Returns ``(applied, message)``: ``applied`` when
        Odoo changed something; ``message`` says what happened, or why nothing did, in the
        shop's language (kommo.account._kommo_lang)."""
        return self.with_context(lang=account._kommo_lang())._apply_event(account, event)

    @api.model
    def _apply_event(self, account, event):
        binding = event.entity == "leads" and self._binding_for_lead(account, event.entity_id)
        if binding and event.type in LEAD_STAGE_EVENTS:
            return self._apply_lead_state(
                binding, event.pipeline_id, event.status_id, event.modified_at, "webhook"
            )
        if binding and event.type is EventType.LEAD_DELETED:
            return self._apply_lead_deleted(binding)
        return False, self._ignored_reason(event, binding)

    @api.model
    def _ignored_reason(self, event, binding):
        lead_id = event.entity_id
        if event.type in (*LEAD_STAGE_EVENTS, EventType.LEAD_DELETED):
            return self.env._("Lead %s is not linked to a repair order.", lead_id)
        if event.type is EventType.LEAD_ADDED and binding:
            return self.env._(
                "Lead %(lead)s was created by Odoo for %(order)s.",
                lead=lead_id,
                order=binding.repair_id.display_name,
            )
        if event.type is EventType.LEAD_ADDED:
            return self.env._(
                "Lead %s was created in Kommo: Odoo does not make repair orders from leads.",
                lead_id,
            )
        return self.env._("%s: Odoo does not use events of this kind.", event.label)

    @api.model
    def _binding_for_lead(self, account, lead_id):
        return (
            self.env["kommo.lead.binding"]
            .sudo()
            .search([("account_id", "=", account.id), ("kommo_lead_id", "=", lead_id)], limit=1)
        )

    # -- a lead's stage -----------------------------------------------------------------------

    @api.model
    def _apply_lead_state(self, binding, pipeline_id, status_id, updated_at, source):
        """Apply the stage Kommo reports for a bound lead (``source``: "webhook" or
        "reconcile"). Returns ``(applied, message)`` as ``_apply_webhook_event`` does.

        A new stage is recorded on the binding and posted on the repair order; when the
        account lets Kommo move repair orders and the stage map names a repair state, the
        repair module's own actions take the order there, and the order waits for a push that
        refreshes what its lead shows of its state (the stage stays Kommo's: it is the one the
        new state maps to). A refused move is logged and posted, never raised.
        """
        binding = binding.sudo().with_context(kommo_inbound=True)
        lead_id = binding.kommo_lead_id
        updated_at, known_at = naive_utc(updated_at), binding.kommo_updated_at
        if updated_at and known_at and updated_at < known_at:
            return False, self.env._(
                "Lead %(lead)s: older than what Odoo knows (changed at %(at)s, Odoo knows "
                "%(known)s).",
                lead=lead_id,
                at=updated_at,
                known=known_at,
            )
        if not status_id:
            return False, self.env._("Lead %s: no stage in the news.", lead_id)
        pipeline_id = pipeline_id or binding.kommo_pipeline_id
        newer = {"kommo_updated_at": updated_at} if updated_at and updated_at != known_at else {}
        if (pipeline_id, status_id) == (binding.kommo_pipeline_id, binding.kommo_status_id):
            if newer:
                binding.write(newer)
            return False, self.env._(
                "Lead %s is already on this stage in Odoo (an echo of Odoo's own change, or "
                "news already applied).",
                lead_id,
            )
        binding.write({"kommo_pipeline_id": pipeline_id, "kommo_status_id": status_id, **newer})
        lines, error = self._kommo_follow(binding)
        self._log_inbound(
            binding.account_id, f"{source}_stage", binding.repair_id, lead_id, refusal=error
        )
        return True, " ".join(lines)

    @api.model
    def _kommo_follow_again(self, binding):
        """A person fixed what stopped the order (Retry on "Kommo ahead"): try again."""
        binding = binding.sudo().with_context(kommo_inbound=True)
        _lines, error = self._kommo_follow(binding)
        self._log_inbound(
            binding.account_id,
            "retry_stage",
            binding.repair_id,
            binding.kommo_lead_id,
            refusal=error,
        )
        return not error

    @api.model
    def _kommo_follow(self, binding):
        """Take the order where the binding's Kommo stage says, post what happened, and flag
        the order "Kommo ahead" when Odoo refused: ``(lines, error or False)``."""
        account, order = binding.account_id, binding.repair_id
        state_before = order.state
        lines, error = self._follow_stage(
            account, order, binding.kommo_pipeline_id, binding.kommo_status_id
        )
        if order.state != state_before:
            # The lead's fields that show the order's state (e.g. a mapped status field) are
            # stale now: the next push refreshes them, on the stage Kommo chose.
            binding._kommo_mark_pending()
        binding.write({"kommo_ahead": bool(error), "kommo_ahead_reason": error or False})
        order._message_log(body=Markup("<br/>").join(lines))
        if error:
            order._kommo_tell_responsible(
                self.env._("Kommo is ahead of Odoo"), " ".join(lines), account
            )
        return lines, error

    @api.model
    def _follow_stage(self, account, order, pipeline_id, status_id):
        """What the new stage means for the order: ``(lines to post, error or False)``."""
        lines = [
            self.env._(
                "Kommo: the lead moved to %s.", self._stage_text(account, pipeline_id, status_id)
            )
        ]
        target = account.kommo_moves_repair_order and self.env[
            "kommo.stage.map"
        ]._repair_state_for_stage(account, pipeline_id, status_id)
        if not target or target == order.state:
            return lines, False
        before = self._state_label(order.state)
        error = self._move_repair_order(order, target)
        if error:
            lines.append(
                self.env._(
                    "The repair order stays %(state)s instead of %(target)s: %(error)s",
                    state=before,
                    target=self._state_label(target),
                    error=error,
                )
            )
        else:
            lines.append(
                self.env._(
                    "Kommo moved the repair order from %(before)s to %(after)s.",
                    before=before,
                    after=self._state_label(order.state),
                )
            )
        return lines, error

    @api.model
    def _log_inbound(self, account, operation, order, lead_id, *, error=False, refusal=False):
        """One inbound sync log row for what Kommo's news did to ``order``: ``error`` when it
        failed, ``refusal`` when Odoo refused the move Kommo asked for (a business outcome,
        styled apart from failures). What Odoo did is logged in this transaction, undone with
        it; a failure in a transaction of its own, to outlive the rollback that follows it."""
        logs = self.env["kommo.sync.log"]
        log = logs._kommo_log if error else logs._kommo_log_with_caller
        log(
            account,
            operation,
            records=order,
            direction="inbound",
            kommo_id=str(lead_id),
            outcome="error" if error else ("refused" if refusal else "success"),
            error_message=error or refusal or False,
        )

    @api.model
    def _move_repair_order(self, order, target):
        """Take ``order`` to ``target`` with the repair module's actions, all or nothing.
        Returns False when done, else why not in plain words."""
        actions = repair_actions(order.state, target)
        if actions is None:
            return self.env._(
                "Odoo offers no action that takes a repair order from %(current)s to %(target)s.",
                current=self._state_label(order.state),
                target=self._state_label(target),
            )
        order = order.with_company(order.company_id).with_context(kommo_inbound=True)
        try:
            with self.env.cr.savepoint():
                for action in actions:
                    result = getattr(order, action)()
                    if isinstance(result, dict):
                        # action_validate opens a wizard when stock is short: a person decides.
                        raise UserError(
                            self.env._(
                                "Odoo asks a person to decide: %s", result.get("name") or action
                            )
                        )
        except (UserError, ValidationError) as exc:
            return exc.args[0]
        if order.state != target:
            return self.env._("Odoo left it %s.", self._state_label(order.state))
        return False

    @api.model
    def _apply_lead_deleted(self, binding):
        """The lead is gone from Kommo: the binding forgets it, so that the order is not
        pushed to a lead that no longer exists; syncing the order again makes a new one."""
        binding = binding.sudo().with_context(kommo_inbound=True)
        lead_id, order = binding.kommo_lead_id, binding.repair_id
        message = self.env._(
            "Kommo: the lead %s was deleted in Kommo. The repair order has no lead in Kommo "
            "until it is synced again (Sync Kommo, or its next change).",
            lead_id,
        )
        binding.write(
            {
                "kommo_lead_id": False,
                "kommo_pipeline_id": False,
                "kommo_status_id": False,
                "sync_state": "error",
                "last_error": message,
            }
        )
        order._message_log(body=message)
        self._log_inbound(binding.account_id, "webhook_lead_deleted", order, lead_id)
        return True, message

    @api.model
    def _stage_text(self, account, pipeline_id, status_id):
        stage = (
            self.env["kommo.pipeline.stage"]
            .sudo()
            .with_context(active_test=False)
            .search(
                [
                    ("account_id", "=", account.id),
                    ("pipeline_id.kommo_id", "=", pipeline_id),
                    ("kommo_id", "=", status_id),
                ],
                limit=1,
            )
        )
        if not stage:
            return self.env._(
                "a stage Odoo does not know yet (Kommo id %s): refresh the pipelines of the "
                "Kommo account",
                status_id,
            )
        if stage.pipeline_id != account.pipeline_id:
            return self.env._(
                "%(stage)s (pipeline %(pipeline)s)",
                stage=stage.name,
                pipeline=stage.pipeline_id.name,
            )
        return stage.name

    @api.model
    def _state_label(self, state):
        labels = dict(self.env["repair.order"]._fields["state"]._description_selection(self.env))
        return labels.get(state, state)

    # -- reconciliation -----------------------------------------------------------------------

    @api.model
    def _cron_reconcile(self):
        """Read the leads changed in Kommo since the last poll of each connected account and
        apply their stage, so that a webhook Kommo failed to deliver heals itself."""
        commit = auto_commit()
        accounts = self.env["kommo.account"].sudo().search([("state", "=", "connected")])
        for account in accounts.filtered(lambda account: account._kommo_can_push()):
            try:
                self.with_context(lang=account._kommo_lang())._reconcile_account(account)
            except KommoError as exc:
                # Already in the sync log; the mark stays, so the next run reads them again.
                _logger.warning("Kommo account %s: reconciliation failed: %s", account.id, exc)
            except Exception as exc:  # one broken account must not starve the others
                _logger.exception("Kommo account %s: reconciliation failed", account.id)
                if commit:
                    self.env.cr.rollback()  # the failure may have aborted the transaction
                self.env["kommo.sync.log"]._kommo_log(
                    account,
                    "reconcile",
                    direction="inbound",
                    outcome="error",
                    error_message=str(exc),
                )
            if commit:
                self.env.cr.commit()  # pylint: disable=invalid-commit

    @api.model
    def _reconcile_account(self, account):
        """Returns how many leads changed something in Odoo."""
        started = fields.Datetime.now()
        since = (account.kommo_leads_polled_at or started - RECONCILE_FIRST_WINDOW) - (
            RECONCILE_OVERLAP
        )
        client = account._kommo_client(operation="reconcile")
        # Oldest change first, paged by key: a lead changed during the scan is not skipped.
        leads = client.iter_leads_updated_since(unix_time(since), limit=RECONCILE_PAGE_SIZE)
        commit = auto_commit()
        applied, page = 0, []
        for lead in leads:
            page.append(lead)
            if len(page) == RECONCILE_PAGE_SIZE:
                applied += self._reconcile_leads(account, page)
                page = []
                if commit:
                    self.env.cr.commit()  # pylint: disable=invalid-commit
        applied += self._reconcile_leads(account, page)
        if commit:
            self.env.cr.commit()  # pylint: disable=invalid-commit
        # A token refresh during the poll updated the account row in a transaction of its
        # own: writing the mark in this (older) transaction would fail to serialise.
        account.flush_recordset()
        with account_in_own_transaction(account) as own_account:
            own_account.kommo_leads_polled_at = started
        account.invalidate_recordset(["kommo_leads_polled_at"])
        return applied

    @api.model
    def _reconcile_leads(self, account, leads):
        if not leads:
            return 0
        bindings = (
            self.env["kommo.lead.binding"]
            .sudo()
            .search(
                [
                    ("account_id", "=", account.id),
                    ("kommo_lead_id", "in", [lead["id"] for lead in leads]),
                ]
            )
        )
        by_lead = {binding.kommo_lead_id: binding for binding in bindings}
        applied = 0
        for lead in leads:
            binding = by_lead.get(lead["id"])
            if binding:
                applied += self._reconcile_lead(binding, lead)
        return applied

    @api.model
    def _reconcile_lead(self, binding, lead):
        """Apply one lead of the poll in a savepoint: a lead that cannot be applied is logged
        on its order and left for the next poll, never raised into the others'."""
        try:
            with self.env.cr.savepoint():
                changed, _message = self._apply_lead_state(
                    binding,
                    lead.get("pipeline_id"),
                    lead.get("status_id"),
                    from_unix_time(lead.get("updated_at")),
                    "reconcile",
                )
        except Exception as exc:
            _logger.warning("Kommo lead %s: reconciliation failed", lead["id"], exc_info=True)
            self.env.invalidate_all()
            self._log_inbound(
                binding.account_id,
                "reconcile_stage",
                binding.repair_id,
                lead["id"],
                error=str(exc),
            )
            return 0
        return changed
