"""Constants of the Kommo connector (routes, defaults, limits) in one place."""

OAUTH_CALLBACK_ROUTE = "/kommo/oauth/callback"
# Kommo calls it when an administrator removes the integration from the Kommo account.
OAUTH_DISCONNECT_ROUTE = "/kommo/oauth/disconnect"
WEBHOOK_ROUTE_PREFIX = "/kommo/webhook"

KOMMO_AUTHORIZE_URL = "https://www.kommo.com/oauth"
OAUTH_STATE_SCOPE = "kommo_connector.oauth_state"

# The lead events the webhook subscribes to: creation, edits, stage moves and deletion.
WEBHOOK_EVENTS = ["add_lead", "update_lead", "status_lead", "delete_lead"]

# Kommo answers at most 7 requests per second per account; the margin absorbs the jitter
# between reserving a slot in the database and the request reaching Kommo.
THROTTLE_MAX_CALLS = 7
THROTTLE_PERIOD = 1.0
THROTTLE_MARGIN = 0.1

# A refresh token dies after 3 idle months: the cron renews pairs older than this.
TOKEN_MAX_AGE_DAYS = 7

# Every transaction of its own (tools/cursors.py) gives up a lock wait after this, and polls
# this often for rows another worker holds.
OWN_TRANSACTION_LOCK_TIMEOUT = "5s"
OWN_TRANSACTION_POLL_SECONDS = 0.05

# How long a worker waits for another worker's token refresh before giving up.
TOKEN_LOCK_WAIT_SECONDS = 40.0

DEFAULT_PHONE_REGION = "BR"
DEFAULT_RETENTION_DAYS = 90

# The push's options (kommo.lead.binding._kommo_push_options): option -> (system parameter,
# default). Kommo takes at most 50 entities a write call (kommo_api's MAX_BATCH_SIZE).
PUSH_PARAMETERS = {
    "batch_size": ("kommo_connector.push_batch_size", 50),
    "claim_limit": ("kommo_connector.push_claim_limit", 10000),
    "max_attempts": ("kommo_connector.push_max_attempts", 5),
    "lease_seconds": ("kommo_connector.push_lease_seconds", 600),
}
