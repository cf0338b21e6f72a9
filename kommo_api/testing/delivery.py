"""Webhook deliveries: Kommo's form-encoded payloads, POSTed from a background thread with retries.

One delivery carries one event. Kommo waits about 2 s for the answer and only 1xx-2xx counts as
delivered (the project's Kommo facts); anything else (a redirect, an error, a timeout, a refused
connection) is retried after each of ``retry_delays`` seconds, then given up. The default ladder
is UNCONFIRMED: Kommo says "minutes, then up to an hour" for account webhooks (its Digital
Pipeline page documents "up to 4 delivery retry attempts within a one-hour period" for those);
here 1, 5, 15 and 40 minutes. Delays run on the emulator's clock, so a test advances the clock
instead of waiting. ``attempts`` records every try; a webhook disabled meanwhile (or
unsubscribed) gets nothing more (``webhook_health.py``).
"""

import heapq
import itertools
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from .clock import Clock
from .store import Store

USER_AGENT = "amoCRM-WebHook-client/1.0"
RECEIVER_TIMEOUT = 2.0  # seconds Kommo waits for an answer
RETRY_LADDER = (60, 300, 900, 2400)  # UNCONFIRMED: see the module's docstring
MAX_IDLE_WAIT = 1.0  # seconds: the worker re-reads the clock at least this often
KNOWN_EVENTS = frozenset(
    f"{action}_{entity}"
    for action in ("add", "update", "delete", "restore", "responsible", "note", "status")
    for entity in ("lead", "contact", "company", "customer", "task")
    if not (action == "status" and entity != "lead")
)


@dataclass(frozen=True)
class DeliveryAttempt:
    destination: str
    event: str
    body: str  # form-encoded, as sent
    attempt: int  # 1 for the first try
    status: int | None  # None when the connection failed
    error: str | None
    time: float  # time.monotonic() when the answer (or failure) came
    gave_up: bool  # this failed attempt was the last one

    @property
    def ok(self) -> bool:
        return delivered(self.status)


def delivered(status: int | None) -> bool:
    """Only a 1xx-2xx answer counts as delivered."""
    return status is not None and 100 <= status < 300


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Kommo does not follow a receiver's redirect: a 3xx is an invalid answer."""

    def redirect_request(self, *args, **kwargs):
        return None


@dataclass(frozen=True)
class _Job:
    destination: str
    event: str
    body: str
    attempt: int = 1


class WebhookDeliverer:
    """``is_active(destination)`` is asked before each try; ``on_answer(destination, ok)`` is
    told every outcome (Kommo's count of invalid answers)."""

    def __init__(
        self,
        retry_delays=RETRY_LADDER,
        timeout: float = RECEIVER_TIMEOUT,
        clock: Clock | None = None,
        is_active: Callable[[str], bool] = lambda destination: True,
        on_answer: Callable[[str, bool], object] = lambda destination, ok: None,
    ):
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self.clock = clock or Clock()
        self._is_active = is_active
        self._on_answer = on_answer
        self.clock.on_change(self._wake)
        self.attempts: list[DeliveryAttempt] = []
        self._queue: list[tuple[float, int, _Job]] = []
        self._order = itertools.count()
        self._in_flight = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None
        # Deliveries go to local receivers: never through a proxy from the environment.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirect)

    def _wake(self) -> None:
        with self._cond:
            self._cond.notify_all()

    def start(self) -> None:
        with self._cond:
            self._stopping = False
        self._thread = threading.Thread(target=self._run, name="kommo-emulator-webhooks")
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 1)
            self._thread = None

    def send(self, destination: str, event: str, body: str) -> None:
        self._push(self.clock.now(), _Job(destination, event, body))

    def _push(self, due: float, job: _Job) -> None:
        with self._cond:
            heapq.heappush(self._queue, (due, next(self._order), job))
            self._cond.notify_all()

    def _next_job(self) -> _Job | None:
        with self._cond:
            while not self._stopping:
                now = self.clock.now()
                if self._queue and self._queue[0][0] <= now:
                    self._in_flight += 1
                    return heapq.heappop(self._queue)[2]
                wait = min(self._queue[0][0] - now, MAX_IDLE_WAIT) if self._queue else None
                self._cond.wait(wait)
            return None

    def _run(self) -> None:
        while (job := self._next_job()) is not None:
            if not self._is_active(job.destination):
                with self._cond:  # disabled or unsubscribed meanwhile: dropped
                    self._in_flight -= 1
                    self._cond.notify_all()
                continue
            status, error = self._post(job)
            ok = delivered(status)
            self._on_answer(job.destination, ok)
            retry = not ok and job.attempt <= len(self.retry_delays)
            attempt = DeliveryAttempt(
                job.destination,
                job.event,
                job.body,
                job.attempt,
                status,
                error,
                time.monotonic(),
                gave_up=not ok and not retry,
            )
            with self._cond:
                self._in_flight -= 1
                self.attempts.append(attempt)
                if retry:
                    due = self.clock.now() + self.retry_delays[job.attempt - 1]
                    next_try = _Job(job.destination, job.event, job.body, job.attempt + 1)
                    heapq.heappush(self._queue, (due, next(self._order), next_try))
                self._cond.notify_all()

    def _post(self, job: _Job) -> tuple[int | None, str | None]:
        # Destinations are checked to be http(s) URLs when a webhook is subscribed.
        request = urllib.request.Request(  # noqa: S310
            job.destination,
            data=job.body.encode("utf-8"),
            method="POST",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": USER_AGENT,
            },
        )
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                answer.read()
                return answer.status, None
        except urllib.error.HTTPError as exc:
            return exc.code, None
        except (OSError, ValueError) as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def wait(self, count: int | None = None, timeout: float = 10.0) -> bool:
        """Until ``count`` attempts are recorded (or, without count, nothing is pending that
        falls due within ``timeout``: a retry an hour away on the emulator's clock is not
        waited for; advance the clock to bring it due)."""
        deadline = time.monotonic() + timeout

        def done() -> bool:
            if count is not None:
                return len(self.attempts) >= count
            horizon = self.clock.now() + max(0.0, deadline - time.monotonic())
            return not self._in_flight and (not self._queue or self._queue[0][0] > horizon)

        with self._cond:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True


# payloads ------------------------------------------------------------------------------------
def _custom_field_pairs(prefix: str, values: list[dict] | None) -> list[tuple[str, str]]:
    pairs = []
    for i, cf in enumerate(values or ()):
        pairs += [(f"{prefix}[custom_fields][{i}][id]", str(cf["field_id"]))]
        pairs += [(f"{prefix}[custom_fields][{i}][name]", cf["field_name"])]
        if cf.get("field_code"):
            pairs += [(f"{prefix}[custom_fields][{i}][code]", cf["field_code"])]
        for j, value in enumerate(cf["values"]):
            key = f"{prefix}[custom_fields][{i}][values][{j}]"
            pairs.append((f"{key}[value]", _form_text(value["value"])))
            if value.get("enum_id") is not None:
                pairs.append((f"{key}[enum]", str(value["enum_id"])))
    return pairs


def _form_text(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _optional(pairs: list, key: str, value) -> None:
    if value is not None:
        pairs.append((key, str(value)))


class WebhookNotifier:
    """Turns record changes into deliveries for every hook subscribed to the event."""

    def __init__(self, store: Store, deliverer: WebhookDeliverer, base_url: Callable[[], str]):
        self.store = store
        self.deliverer = deliverer
        self.base_url = base_url

    def lead_event(self, action: str, lead: dict, old_status_id=None, old_pipeline_id=None):
        """action: add / update / status / delete (section names of Kommo's payload)."""
        prefix = f"leads[{action}][0]"
        pairs = [(f"{prefix}[id]", str(lead["id"]))]
        if action == "delete":
            _optional(pairs, f"{prefix}[status_id]", lead.get("status_id"))
            _optional(pairs, f"{prefix}[pipeline_id]", lead.get("pipeline_id"))
            return self._dispatch("delete_lead", pairs)
        pairs.append((f"{prefix}[name]", lead.get("name") or ""))
        pairs.append((f"{prefix}[status_id]", str(lead["status_id"])))
        if action == "status":
            _optional(pairs, f"{prefix}[old_status_id]", old_status_id)
        pairs.append((f"{prefix}[price]", str(lead.get("price") or 0)))
        _optional(pairs, f"{prefix}[responsible_user_id]", lead.get("responsible_user_id"))
        pairs.append((f"{prefix}[last_modified]", str(lead["updated_at"])))
        _optional(pairs, f"{prefix}[modified_user_id]", lead.get("updated_by"))
        _optional(pairs, f"{prefix}[created_user_id]", lead.get("created_by"))
        pairs.append((f"{prefix}[date_create]", str(lead["created_at"])))
        pairs.append((f"{prefix}[pipeline_id]", str(lead["pipeline_id"])))
        if old_pipeline_id is not None and old_pipeline_id != lead["pipeline_id"]:
            pairs.append((f"{prefix}[old_pipeline_id]", str(old_pipeline_id)))
        for i, tag_id in enumerate(lead.get("tags") or ()):
            tag = self.store.tags.get(tag_id)
            if tag:
                pairs.append((f"{prefix}[tags][{i}][id]", str(tag_id)))
                pairs.append((f"{prefix}[tags][{i}][name]", tag["name"]))
        pairs.append((f"{prefix}[account_id]", str(self.store.account["id"])))
        pairs += _custom_field_pairs(prefix, lead.get("custom_fields_values"))
        pairs.append((f"{prefix}[created_at]", str(lead["created_at"])))
        pairs.append((f"{prefix}[updated_at]", str(lead["updated_at"])))
        return self._dispatch(f"{action}_lead", pairs)

    def contact_event(self, action: str, contact: dict):
        prefix = f"contacts[{action}][0]"
        pairs = [(f"{prefix}[id]", str(contact["id"]))]
        if action != "delete":
            pairs.append((f"{prefix}[name]", contact.get("name") or ""))
            _optional(pairs, f"{prefix}[responsible_user_id]", contact.get("responsible_user_id"))
            pairs.append((f"{prefix}[date_create]", str(contact["created_at"])))
            pairs.append((f"{prefix}[last_modified]", str(contact["updated_at"])))
            pairs.append((f"{prefix}[type]", "contact"))
            pairs += _custom_field_pairs(prefix, contact.get("custom_fields_values"))
        return self._dispatch(f"{action}_contact", pairs)

    def _dispatch(self, event: str, pairs: list[tuple[str, str]]) -> int:
        account = self.store.account
        pairs = [
            *pairs,
            ("account[subdomain]", account["subdomain"]),
            ("account[id]", str(account["id"])),
            ("account[_links][self]", self.base_url()),
        ]
        body = urlencode(pairs)
        hooks = [h for h in self.store.webhooks.values() if event in h["settings"]]
        for hook in hooks:
            if not hook["disabled"]:
                self.deliverer.send(hook["destination"], event, body)
        return len(hooks)
