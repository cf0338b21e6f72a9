from .cursors import account_in_own_transaction, held_by_caller, new_cursor, own_transaction
from .throttle import PgThrottle
from .token_store import OdooTokenStore
