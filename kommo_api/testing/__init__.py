"""A faithful local emulator of Kommo's REST API v4 (stdlib + werkzeug only).

    from kommo_api.testing import KommoEmulator
    with KommoEmulator(seed="demo") as emu:
        token = emu.issue_long_lived_token()
        ...  # talk to emu.url

Also a CLI: ``python -m kommo_api.testing --port 8899 --seed demo``.
"""

from .answers import RequestValidationError
from .clock import Clock
from .delivery import USER_AGENT as WEBHOOK_USER_AGENT
from .delivery import DeliveryAttempt
from .emulator import KommoEmulator
from .faults import FAULT_KINDS
from .oauth import OAuthAppRecord
from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET
from .server import REQUEST_ID_HEADER, LoggedRequest
from .store import LOST_STATUS_ID, WON_STATUS_ID

__all__ = [
    "DEMO_CLIENT_ID",
    "DEMO_CLIENT_SECRET",
    "FAULT_KINDS",
    "LOST_STATUS_ID",
    "REQUEST_ID_HEADER",
    "WEBHOOK_USER_AGENT",
    "WON_STATUS_ID",
    "Clock",
    "DeliveryAttempt",
    "KommoEmulator",
    "LoggedRequest",
    "OAuthAppRecord",
    "RequestValidationError",
]
