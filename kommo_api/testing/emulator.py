"""KommoEmulator: one Kommo account behind a real HTTP server on 127.0.0.1."""

import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from urllib.parse import urlencode

from .answers import Issues, raise_if_invalid
from .book import FIXTURE
from .cfields import check_field_spec, create_field, render_field
from .clock import Clock
from .contacts import ContactBook
from .crm import CrmUser
from .delivery import (
    RECEIVER_TIMEOUT,
    RETRY_LADDER,
    DeliveryAttempt,
    WebhookDeliverer,
    WebhookNotifier,
)
from .faults import FaultInjector
from .leads import LeadBook
from .limits import RateLimiter
from .oauth import OAuthAppRecord, OAuthServer
from .pipelines import add_pipeline, render_pipeline
from .readings import Readings, reading
from .seed import DEMO_ACCOUNT, make_account, seed_base, seed_demo
from .server import EmulatorApp, LoggedRequest, ServerThread
from .store import Store
from .webhook_health import WebhookHealth


class KommoEmulator:
    """A faithful local Kommo API v4 (see kommo-api-facts.md) for tests, demos and benchmarks.

    ``seed``: None (a main pipeline and the standard contact fields) or "demo" (the repair-shop
    account "Oficina Demo", subdomain "demo"). ``api_changes_fire_webhooks``: changes the
    integration makes through the REST API fire webhooks too, as in real Kommo (the echoes an
    integration must recognise).

    Writes are validated as a whole batch, as Kommo does: one invalid item rejects the request
    (400 ``validation-errors`` naming each bad item's ``request_id``) and nothing is applied.
    Behaviours Kommo does not document are chosen and marked in the modules (e.g. a missing
    entity by id answers 204, ``limit`` above 250 is capped, injected faults are not counted by
    the rate limiter). Everything except ``crm`` and the fixture helpers is reached over HTTP.

    The readings of behaviours Kommo leaves open (``readings.py``, ``CONTRACT.md``) are keyword
    arguments and attributes: ``patch_embedded_contacts``, ``phone_search``,
    ``if_modified_since``, ``default_order``, ``duplicate_control``.
    """

    patch_embedded_contacts = reading()
    phone_search = reading()
    if_modified_since = reading()
    default_order = reading()
    duplicate_control = reading()

    def __init__(
        self,
        subdomain: str | None = None,
        *,
        account_id: int = 30000001,
        rate_limit: int | None = 7,
        rate_period: float = 1.0,
        block_after: int | None = 20,
        clock: Clock | None = None,
        seed: str | None = None,
        webhook_retry_delays: Sequence[float] = RETRY_LADDER,
        block_seconds: float = 60.0,
        webhook_timeout: float = RECEIVER_TIMEOUT,
        timeout_delay: float = 3.0,
        api_changes_fire_webhooks: bool = True,
        account_name: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        **readings,
    ):
        if seed not in (None, "demo"):
            raise ValueError("seed must be None or 'demo'")
        demo = seed == "demo"
        self.subdomain = subdomain or (DEMO_ACCOUNT["subdomain"] if demo else "acme")
        self.account_id = account_id
        self.clock = clock or Clock()
        self.readings = Readings(**readings)
        self.api_changes_fire_webhooks = api_changes_fire_webhooks
        name = account_name or (DEMO_ACCOUNT["name"] if demo else self.subdomain.title())
        self.store = Store(make_account(account_id, self.subdomain, name, self.clock.timestamp()))
        self.limiter = RateLimiter(
            rate_limit, period=rate_period, block_after=block_after, block_seconds=block_seconds
        )
        self.faults = FaultInjector(timeout_delay)
        self.webhook_health = WebhookHealth(self.store, self.clock)
        self.deliverer = WebhookDeliverer(
            webhook_retry_delays,
            webhook_timeout,
            self.clock,
            is_active=self.webhook_health.active,
            on_answer=self.webhook_health.record,
        )
        self.notifier = WebhookNotifier(self.store, self.deliverer, lambda: self.base_url)
        fires = lambda: self.api_changes_fire_webhooks  # noqa: E731
        self.leads = LeadBook(self.store, self.clock, self.notifier, fires, self.readings)
        self.contacts = ContactBook(self.store, self.clock, self.notifier, fires, self.readings)
        # The shared API domain of the JWT's api_domain claim: the first host, kept on a rename.
        self.oauth = OAuthServer(self.clock, self.store.account, lambda: self._api_domain)
        self.crm = CrmUser(self)
        self.log: list[LoggedRequest] = []
        self._bind = (host, port)
        self._app: EmulatorApp | None = None
        self._servers: list[ServerThread] = []
        self._host: str | None = None
        self._api_domain: str | None = None
        self._retired_ports: dict[int, int] = {}  # renamed-away host's port -> its answer
        with self.store.lock:
            if demo:
                seed_demo(self.store, self.leads, self.contacts)
            else:
                seed_base(self.store)

    # lifecycle -----------------------------------------------------------------------------
    def start(self) -> "KommoEmulator":
        if not self._servers:
            self._app = EmulatorApp(self)
            self.deliverer.start()
            self._host = self._api_domain = self._serve()
        return self

    def _serve(self, port: int | None = None) -> str:
        server = ServerThread(self._app, self._bind[0], self._bind[1] if port is None else port)
        self._servers.append(server)
        server.start()
        return f"{self._bind[0]}:{server.port}"

    def stop(self) -> None:
        if self._servers:
            for server in self._servers:
                server.stop()
            self.deliverer.stop()
            self._servers = []
            self._retired_ports.clear()

    def __enter__(self) -> "KommoEmulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def host(self) -> str:
        """What Kommo sends as ``referer``: "127.0.0.1:PORT"."""
        if self._host is None:
            raise RuntimeError("the emulator is not started")
        return self._host

    @property
    def port(self) -> int:
        return int(self.host.rsplit(":", 1)[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def base_url(self) -> str:
        """The url once started; a Kommo-like address before (links in fixtures)."""
        return self.url if self._host else f"https://{self.subdomain}.kommo.com"

    @property
    def authorize_url(self) -> str:
        return f"{self.url}/oauth"

    # OAuth ---------------------------------------------------------------------------------
    def register_app(
        self, redirect_uri=None, client_id=None, client_secret=None, disconnect_url=None
    ) -> OAuthAppRecord:
        """``disconnect_url``: the integration's "access revoked notification web hook"."""
        return self.oauth.register_app(redirect_uri, client_id, client_secret, disconnect_url)

    def issue_auth_code(self, client_id: str) -> str:
        return self.oauth.issue_auth_code(client_id)

    def issue_tokens(self, client_id: str) -> dict:
        return self.oauth.issue_tokens(client_id)

    def issue_long_lived_token(self, days: int = 365) -> str:
        return self.oauth.issue_long_lived_token(days)

    def disconnect_integration(self, client_id: str, timeout: float = 5.0) -> int | None:
        """An administrator removes the integration: its tokens die, and Kommo calls the
        integration's disconnect hook, ``GET <disconnect_url>?account_id=&client_uuid=&signature=``
        (Kommo's OAuth 2.0 page, "Hook to disable integration"). Returns the hook's HTTP status,
        None without a hook URL or when it could not be reached (sent once: Kommo's retries
        of this hook are UNCONFIRMED)."""
        url, params = self.oauth.disconnect(client_id)
        if not url:
            return None
        joiner = "&" if "?" in url else "?"
        hook = f"{url}{joiner}{urlencode(params)}"
        try:
            # The integration's own URL, as registered (http or https).
            with urllib.request.urlopen(hook, timeout=timeout) as answer:  # noqa: S310
                return answer.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, OSError):
            return None

    def rename_subdomain(self, subdomain: str, old_host_status: int = 404) -> str:
        """The account's subdomain changes: it moves to a new host (a new port here) and the old
        host answers ``old_host_status`` to everything but the shared API domain's
        ``/oauth2/account/current/subdomain``. Returns the new host.

        What Kommo's old host answers is UNCONFIRMED: the official PHP library looks the
        subdomain up when a refresh answers 401 or 404 (AmoCRMOAuth::getAccessTokenByRefreshToken),
        so both are offered."""
        if old_host_status not in (401, 404):
            raise ValueError("old_host_status must be 401 or 404")
        if not self._servers:
            raise RuntimeError("the emulator is not started")
        with self.store.lock:
            self.subdomain = subdomain
            self.store.account["subdomain"] = subdomain
        self._retired_ports[self.port] = old_host_status
        self._host = self._serve(port=0)
        return self._host

    def retired_status(self, port) -> int | None:
        """What a renamed-away host answers (see rename_subdomain); None for a live host."""
        try:
            return self._retired_ports.get(int(port))
        except (TypeError, ValueError):
            return None

    def unblock(self) -> None:
        """Lifts a block and forgets the rate-limit history."""
        self.limiter.reset()

    # request log ---------------------------------------------------------------------------
    def calls(self, method: str | None = None, path: str | None = None) -> list[LoggedRequest]:
        """Logged requests, optionally only one method and/or one exact path."""
        return [
            entry
            for entry in list(self.log)
            if (method is None or entry.method == method.upper())
            and (path is None or entry.path == path)
        ]

    def clear_log(self) -> None:
        self.log.clear()

    # webhooks ------------------------------------------------------------------------------
    @property
    def deliveries(self) -> list[DeliveryAttempt]:
        return self.deliverer.attempts

    def wait_for_deliveries(self, count: int | None = None, timeout: float = 10.0) -> bool:
        """True once ``count`` delivery attempts are recorded (without count: once nothing is
        pending); False after ``timeout`` seconds."""
        return self.deliverer.wait(count, timeout)

    # fixtures (no HTTP, no webhooks) -------------------------------------------------------
    def add_contact(self, name: str, phones: Iterable[str] = (), emails: Iterable[str] = (), **kw):
        with self.store.lock:
            contact = self.contacts.add_simple(name, phones, emails, **kw)
            return self.contacts.render(contact, self.base_url)

    def add_contacts_bulk(self, contacts: Iterable) -> list[int]:
        """Fast load: each item is ``(name, phones, emails)`` or a dict with those keys.
        Returns the new ids."""
        ids = []
        with self.store.lock:
            for item in contacts:
                if isinstance(item, dict):
                    name, phones, emails = (
                        item["name"],
                        item.get("phones", ()),
                        item.get("emails", ()),
                    )
                else:
                    name, phones, emails = item
                ids.append(self.contacts.add_simple(name, phones, emails)["id"])
        return ids

    def add_lead(self, name: str = "", contact_ids: Iterable[int] = (), **fields) -> dict:
        """Any lead keys of the REST API (price, status_id, pipeline_id, custom_fields_values,
        created_at, updated_at, ...) plus ``contact_ids`` (or ``contacts``: ids to link);
        validated like the API (raises RequestValidationError). Fires no webhook."""
        (lead_id,) = self.add_leads_bulk([dict(fields, name=name, contact_ids=contact_ids)])
        with self.store.lock:
            return self.leads.render(self.store.leads[lead_id], self.base_url, with_contacts=True)

    def add_leads_bulk(self, leads: Iterable[dict]) -> list[int]:
        """Like add_lead for many leads at once (no 50-entity limit); returns the new ids."""
        items = []
        for lead in leads:
            item = dict(lead)
            contact_ids = [*item.pop("contact_ids", ()), *item.pop("contacts", ())]
            if contact_ids:
                item["_embedded"] = {"contacts": [{"id": cid} for cid in contact_ids]}
            items.append(item)
        with self.store.lock:
            return [lead["id"] for lead in self.leads.create(items, FIXTURE)]

    def add_custom_field(
        self, entity: str = "leads", name: str = "", type: str = "text", enums=None, code=None
    ) -> dict:
        """enums: values as strings or ``{"value", "sort"}`` dicts."""
        spec = {"name": name, "type": type, "code": code}
        if enums is not None:
            spec["enums"] = [e if isinstance(e, dict) else {"value": e} for e in enums]
        issues = Issues("0")
        with self.store.lock:
            check_field_spec(self.store, entity, spec, issues)
            raise_if_invalid([issues])
            return render_field(create_field(self.store, entity, spec), self.base_url)

    def add_pipeline(self, name: str, stages: Iterable[str], is_main: bool = False) -> dict:
        with self.store.lock:
            return render_pipeline(
                add_pipeline(self.store, name, stages, is_main=is_main), self.base_url
            )
