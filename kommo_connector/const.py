"""Constants of the Kommo connector (groups, cron ids, defaults, limits) in one place.

The routes belong to their controllers (``controllers/main.py``, ``controllers/webhook.py``),
as Odoo's payment providers' do; what Kommo's API fixes (its authorize URL, token path, 50
entities a call, the default phone region) comes from ``kommo_api``.
"""

from kommo_api import MAX_BATCH_SIZE

# Security groups (security/kommo_security.xml); Odoo's administrators alone read the
# connection's secrets; inventory users (whom the repair app is for) get the user group.
GROUP_USER = "kommo_connector.group_kommo_user"
GROUP_MANAGER = "kommo_connector.group_kommo_manager"
GROUP_ADMIN = "base.group_system"
GROUP_REPAIR_USERS = "stock.group_stock_user"

# Crons the code wakes (data/ir_cron.xml).
CRON_PUSH = "kommo_connector.ir_cron_kommo_push"
CRON_PROCESS_WEBHOOKS = "kommo_connector.ir_cron_kommo_process_webhooks"

OAUTH_STATE_SCOPE = "kommo_connector.oauth_state"

# The lead events the webhook subscribes to: creation, edits, stage moves and deletion.
WEBHOOK_EVENTS = ["add_lead", "update_lead", "status_lead", "delete_lead"]

# The request_id a repair order's lead creation carries (/leads/complex): Kommo's answer
# names the order by it.
LEAD_REQUEST_ID = "odoo-repair-{order_id}"

# The jitter between reserving a throttle slot in the database and the request reaching
# Kommo (whose limit, kommo_api.RATE_LIMIT_CALLS a RATE_LIMIT_PERIOD, the throttle keeps).
THROTTLE_MARGIN = 0.1

# A refresh token dies after 3 idle months: the cron renews pairs older than this.
TOKEN_MAX_AGE_DAYS = 7

# Every transaction of its own (tools/cursors.py) gives up a lock wait after this, and polls
# this often for rows another worker holds.
OWN_TRANSACTION_LOCK_TIMEOUT = "5s"
OWN_TRANSACTION_POLL_SECONDS = 0.05

# How long a worker waits for another worker's token refresh before giving up.
TOKEN_LOCK_WAIT_SECONDS = 40.0

# The sync log and the applied webhook deliveries are kept this long by default, and
# deleted this many rows a transaction once older.
DEFAULT_RETENTION_DAYS = 90
CLEANUP_BATCH_SIZE = 1000

# The push's options (kommo.lead.binding._kommo_push_options): option -> (system parameter,
# default). The batch size is at most Kommo's limit of entities a write call.
PUSH_PARAMETERS = {
    "batch_size": ("kommo_connector.push_batch_size", MAX_BATCH_SIZE),
    "claim_limit": ("kommo_connector.push_claim_limit", 10000),
    "max_attempts": ("kommo_connector.push_max_attempts", 5),
    "lease_seconds": ("kommo_connector.push_lease_seconds", 600),
}


# The read calls the initial sync's preview may make to look the customers up in Kommo
# (system parameter, default): about 20 s at 7 requests/s, within a browser's patience.
INITIAL_SYNC_PREVIEW_CALLS = ("kommo_connector.initial_sync_preview_calls", 150)


def lead_request_id(order_id):
    """The request_id of the lead creation of the repair order ``order_id``."""
    return LEAD_REQUEST_ID.format(order_id=order_id)
