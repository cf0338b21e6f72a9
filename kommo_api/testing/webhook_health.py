"""Kommo's rule for a failing webhook: more than 100 invalid answers within 2 hours (the last one
invalid) disable it; ``GET /api/v4/webhooks`` then shows ``disabled: true``, Kommo tells the
account's admins, and nothing more is delivered until it is enabled again.

Sources: the project's Kommo facts (Kommo's webhooks page, checked when the facts were
corrected) and the amoCRM PHP library's maintainers (amocrm/amocrm-api-php issue #226: "if the
hook was not answered with an HTTP code 200-299, we try to send it again later"). An invalid
answer is anything but 1xx-2xx within the receiver timeout, a connection failure included.
Enabled again by subscribing the destination again (``POST /api/v4/webhooks``): UNCONFIRMED,
Kommo documents only that the webhook stays disabled "until re-enabled".

Times are the emulator clock's, so a test moves two hours in one call.
"""

from collections import defaultdict, deque

from .clock import Clock
from .store import Store

INVALID_LIMIT = 100  # more than this many invalid answers...
INVALID_WINDOW = 2 * 3600  # ...within this many seconds disable the webhook


class WebhookHealth:
    def __init__(self, store: Store, clock: Clock):
        self.store = store
        self.clock = clock
        self.limit = INVALID_LIMIT
        self.window = INVALID_WINDOW
        self.admin_notices: list[dict] = []  # what Kommo would tell the admins
        self._invalid: dict[int, deque[float]] = defaultdict(deque)

    def _hook(self, destination: str) -> dict | None:
        return next(
            (h for h in self.store.webhooks.values() if h["destination"] == destination), None
        )

    def active(self, destination: str) -> bool:
        """Whether a delivery (or a retry) to ``destination`` still goes out."""
        with self.store.lock:
            hook = self._hook(destination)
            return hook is not None and not hook["disabled"]

    def record(self, destination: str, ok: bool) -> None:
        """Counts an answer of ``destination``; disables its webhook past the limit."""
        if ok:
            return
        with self.store.lock:
            hook = self._hook(destination)
            if hook is None or hook["disabled"]:
                return
            now = self.clock.now()
            invalid = self._invalid[hook["id"]]
            invalid.append(now)
            while invalid and invalid[0] <= now - self.window:
                invalid.popleft()
            if len(invalid) > self.limit:
                hook["disabled"] = True
                hook["updated_at"] = self.clock.timestamp()
                notice = {"webhook_id": hook["id"], "destination": destination, "at": now}
                self.admin_notices.append(notice)

    def forget(self, hook_id: int) -> None:
        """A webhook enabled again starts with a clean record."""
        self._invalid.pop(hook_id, None)
