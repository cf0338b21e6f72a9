"""The Odoo side of kommo_api's TokenStore protocol: tokens live on the kommo.account row."""

from kommo_api import KommoError

from ..const import TOKEN_LOCK_WAIT_SECONDS
from .cursors import RowsBusy, account_in_own_transaction


class OdooTokenStore:
    """Tokens of one kommo.account, refreshed under a row lock and committed before use.

    Kommo's refresh tokens are single use, so two workers that both find an expired token must
    not both refresh: the second one waits for the row lock, re-reads, sees that the access
    token changed and takes the new pair instead of spending the (now dead) old refresh token.
    """

    def __init__(self, account):
        self._account = account.sudo()
        # What this store refreshed or found refreshed: the caller's transaction may still
        # see the old values (its snapshot predates the commit of the new pair).
        self._latest = None

    def __repr__(self):
        return f"OdooTokenStore(account_id={self._account.id})"

    def get_tokens(self):
        return self._latest or self._account._kommo_stored_tokens()

    def refresh_tokens(self, stale):
        """The row lock serialises the refreshes of all workers; the new pair commits before
        anyone uses it. When the caller's transaction holds the row, the pair commits with
        the caller (tools/cursors.py): were the caller to roll back after using it, the next
        refresh would find the old refresh token spent and ask for a reconnection."""
        failure = None
        try:
            with account_in_own_transaction(self._account, wait=TOKEN_LOCK_WAIT_SECONDS) as account:
                current = account._kommo_stored_tokens()
                if current is not None and (
                    stale is None or current.access_token != stale.access_token
                ):
                    fresh = current
                else:
                    fresh, failure = account._kommo_refresh_locked(current)
        except RowsBusy:
            raise KommoError(
                self._account.env._(
                    "Another Odoo process is renewing the Kommo connection; try again."
                )
            ) from None
        self._account.invalidate_recordset()
        if failure is not None:
            raise failure
        self._latest = fresh
        return fresh
