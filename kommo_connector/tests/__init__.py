from . import test_account
from . import test_cleanup
from . import test_inbound
from . import test_reconcile
from . import test_webhook_flow
from . import test_webhook_receiver
from . import test_webhook_store
from . import test_webhook_access
