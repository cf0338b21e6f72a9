"""What lead and contact writes share: batch validation, scalar checks, who fires webhooks."""

from collections.abc import Callable
from typing import Any

from .answers import Issues, is_int, raise_if_invalid
from .clock import Clock
from .delivery import WebhookNotifier
from .readings import Readings
from .store import Store

# Who made a change: "api" (the integration, through REST), "crm" (a person in Kommo's UI,
# emulated by emu.crm) or "fixture" (test setup, never announced).
API, CRM, FIXTURE = "api", "crm", "fixture"


def request_id_of(item: Any, index: int) -> str:
    """The item's own ``request_id`` if it has one, else its position in the batch."""
    if isinstance(item, dict) and isinstance(item.get("request_id"), (str, int)):
        return str(item["request_id"])
    return str(index)


def public_copy(record: dict) -> dict:
    """The record without the emulator's private keys (those starting with "_")."""
    return {key: value for key, value in record.items() if not key.startswith("_")}


class Book:
    entity = ""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        notifier: WebhookNotifier,
        api_changes_fire_webhooks: Callable[[], bool],
        readings: Readings | None = None,
    ):
        self.store = store
        self.clock = clock
        self.notifier = notifier
        self._api_fires = api_changes_fire_webhooks
        self.readings = readings or Readings()

    def fires(self, source: str) -> bool:
        return source == CRM or (source == API and self._api_fires())

    def user_id(self) -> int:
        return self.store.account["current_user_id"]

    def check(self, item: Any, issues: Issues, current: dict | None = None, **options) -> dict:
        raise NotImplementedError

    def plan_batch(self, items: list, for_update: bool = False, **options) -> list[tuple]:
        """Checks every item (all of them, so every error is reported) before anything is
        applied; returns ``(plan, current_record_or_None)`` pairs."""
        all_issues, plans = [], []
        records = self.store.leads if self.entity == "leads" else self.store.contacts
        for index, item in enumerate(items):
            issues = Issues(request_id_of(item, index))
            all_issues.append(issues)
            current = None
            if for_update:
                current = self._existing(records, item, issues)
                if current is None:
                    continue
            plans.append((self.check(item, issues, current, **options), current))
        raise_if_invalid(all_issues)
        return plans

    @staticmethod
    def _existing(records: dict, item: Any, issues: Issues) -> dict | None:
        if not isinstance(item, dict) or item.get("id") is None:
            issues.blank("id")
            return None
        if not is_int(item["id"]):
            issues.bad_type("id", "int")
            return None
        record = records.get(item["id"])
        if record is None:
            issues.bad_choice("id")
        return record

    @staticmethod
    def check_scalars(item: dict, issues: Issues, plan: dict, ints=(), strings=()) -> None:
        for key in ints:
            if key in item and item[key] is not None:
                if is_int(item[key]) and item[key] >= 0:
                    plan[key] = item[key]
                else:
                    issues.bad_type(key, "int")
        for key in strings:
            if key in item and item[key] is not None:
                if isinstance(item[key], str):
                    plan[key] = item[key]
                else:
                    issues.bad_type(key, "string")

    def touch(self, record: dict, plan: dict, changed: bool) -> None:
        if changed:
            record["updated_at"] = plan.get(
                "updated_at", max(self.clock.timestamp(), record["updated_at"])
            )
            record["updated_by"] = plan.get("updated_by", self.user_id())
