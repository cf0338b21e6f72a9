from .cursors import account_in_own_transaction, locked_account
from .throttle import PgThrottle
from .token_store import OdooTokenStore
