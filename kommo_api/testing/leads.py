"""Leads: validation, create / update / delete, rendering, and the webhooks a change fires."""

import copy
from typing import Any

from .answers import Issues, is_int
from .book import FIXTURE, public_copy
from .cfields import copy_values, merge_values
from .entities import EntityBook
from .store import CLOSED_STATUS_IDS

LEAD_INTS = (
    "price",
    "responsible_user_id",
    "created_by",
    "updated_by",
    "created_at",
    "updated_at",
    "closed_at",
    "loss_reason_id",
)
COPIED_KEYS = (*(k for k in LEAD_INTS if k not in ("updated_at", "updated_by")), "name")
# Kommo documents _embedded on a lead update for tags only; the official PHP library sends
# contacts only when creating (LeadModel::toApi). The "refuse" reading answers this:
NOT_ON_UPDATE = "NotSupported"  # code chosen by the emulator (UNCONFIRMED)
NOT_ON_UPDATE_DETAIL = "Contacts are linked to an existing lead with /api/v4/leads/link."


class LeadBook(EntityBook):
    entity = "leads"
    int_keys = LEAD_INTS
    string_keys = ("name",)

    # validation ----------------------------------------------------------------------------
    def _check_rest(
        self, item: dict, issues: Issues, plan: dict, current: dict | None, max_values
    ) -> None:
        """The stage, the custom field values, then tags and linked contacts."""
        plan.update(self._check_stage(item, issues, current))
        super()._check_rest(item, issues, plan, current, max_values)
        embedded = item.get("_embedded") or {}
        if not isinstance(embedded, dict):
            issues.bad_type("_embedded", "object")
            return
        if "tags" in embedded:
            plan["tags"] = self._check_tags(embedded["tags"], issues.nested("_embedded.tags"))
        for key in ("tags_to_add", "tags_to_delete"):
            if key in item:
                plan[key] = self._check_tags(item[key], issues.nested(key))
        if "contacts" in embedded:
            if current is None:
                plan["contacts"] = self._check_contacts(embedded["contacts"], issues)
            elif self.readings.patch_embedded_contacts == "refuse":
                issues.add(NOT_ON_UPDATE, "_embedded.contacts", NOT_ON_UPDATE_DETAIL)
            # else ignored: an update links nothing (CONTRACT.md, "Links")

    def _check_stage(self, item: dict, issues: Issues, current: dict | None) -> dict:
        pipeline_id, status_id = item.get("pipeline_id"), item.get("status_id")
        if pipeline_id is None and status_id is None:
            if current is not None:
                return {}
            pipeline = self.store.main_pipeline()
            return {
                "pipeline_id": pipeline["id"],
                "status_id": self.store.first_open_status(pipeline),
            }
        for key, value in (("pipeline_id", pipeline_id), ("status_id", status_id)):
            if value is not None and not is_int(value):
                issues.bad_type(key, "int")
                return {}
        if pipeline_id is not None:
            pipeline = self.store.pipelines.get(pipeline_id)
            if pipeline is None:
                issues.bad_choice("pipeline_id")
                return {}
        elif current is not None:
            pipeline = self.store.pipelines[current["pipeline_id"]]
        else:
            pipeline = self.store.main_pipeline()
        if status_id is None:
            same_pipeline = current is not None and current["pipeline_id"] == pipeline["id"]
            status_id = (
                current["status_id"] if same_pipeline else self.store.first_open_status(pipeline)
            )
        elif status_id not in pipeline["statuses"]:
            issues.bad_choice("status_id")
            return {}
        return {"pipeline_id": pipeline["id"], "status_id": status_id}

    def _check_tags(self, tags: Any, issues: Issues) -> list[tuple[str, Any]]:
        if not isinstance(tags, list):
            issues.bad_type("", "array")
            return []
        refs = []
        for index, tag in enumerate(tags):
            if isinstance(tag, dict) and tag.get("id") is not None:
                if tag["id"] in self.store.tags:
                    refs.append(("id", tag["id"]))
                else:
                    issues.bad_choice(f"{index}.id")
            elif isinstance(tag, dict) and isinstance(tag.get("name"), str) and tag["name"]:
                refs.append(("name", tag["name"]))
            else:
                issues.blank(f"{index}.name")
        return refs

    def _check_contacts(self, contacts: Any, issues: Issues) -> list[int]:
        if not isinstance(contacts, list):
            issues.bad_type("_embedded.contacts", "array")
            return []
        ids = []
        for index, contact in enumerate(contacts):
            contact_id = contact.get("id") if isinstance(contact, dict) else None
            if contact_id in self.store.contacts:
                ids.append(contact_id)
            else:
                issues.bad_choice(f"_embedded.contacts.{index}.id")
        return ids

    # writes --------------------------------------------------------------------------------
    def insert(self, plan: dict, source: str) -> dict:
        now, user_id = self.clock.timestamp(), self.user_id()
        lead = {
            "id": self.store.next_id("lead"),
            "name": "",
            "price": 0,
            "responsible_user_id": user_id,
            "group_id": 0,
            "status_id": plan["status_id"],
            "pipeline_id": plan["pipeline_id"],
            "loss_reason_id": None,
            "created_by": user_id,
            "updated_by": plan.get("updated_by", user_id),
            "created_at": now,
            "updated_at": plan.get("updated_at", plan.get("created_at", now)),
            "closed_at": now if plan["status_id"] in CLOSED_STATUS_IDS else None,
            "closest_task_at": None,
            "is_deleted": False,
            "custom_fields_values": None,
            "score": None,
            "account_id": self.store.account["id"],
            "labor_cost": None,
            "_tags": [],
        }
        self._apply(lead, plan)
        return self._keep(lead, source)

    def announce_added(self, record: dict) -> None:
        self.notifier.lead_event("add", record)

    def announce_change(self, record: dict, before: dict) -> None:
        """status_lead when the stage moved, then update_lead."""
        if (record["status_id"], record["pipeline_id"]) != (
            before["status_id"],
            before["pipeline_id"],
        ):
            self.notifier.lead_event("status", record, before["status_id"], before["pipeline_id"])
        self.notifier.lead_event("update", record)

    def delete(self, lead_id: int, source: str = FIXTURE) -> dict | None:
        lead = self.store.forget_lead(lead_id)
        if lead is not None and self.fires(source):
            self.notifier.lead_event("delete", lead)
        return lead

    def _apply(self, lead: dict, plan: dict) -> bool:
        """Writes the plan into the record; True when it linked a new contact."""
        for key in COPIED_KEYS:
            if key in plan:
                lead[key] = plan[key]
        if "status_id" in plan:
            was_closed = lead["status_id"] in CLOSED_STATUS_IDS
            lead["pipeline_id"], lead["status_id"] = plan["pipeline_id"], plan["status_id"]
            if lead["status_id"] not in CLOSED_STATUS_IDS:
                lead["closed_at"] = None
            elif not was_closed or lead["closed_at"] is None:
                lead["closed_at"] = plan.get("closed_at", self.clock.timestamp())
        if "custom_fields_values" in plan:
            merged = merge_values(lead["custom_fields_values"], plan["custom_fields_values"])
            lead["custom_fields_values"] = merged
        self._apply_tags(lead, plan)
        links_added = False
        for contact_id in plan.get("contacts", ()):
            links_added |= contact_id not in self.store.lead_contacts.get(lead["id"], ())
            self.store.link(lead["id"], contact_id)
        self.store.index_lead(lead)
        return links_added

    def change_links(self, lead: dict, links: list[tuple], unlink: bool, source: str) -> bool:
        """Links (or unlinks) ``(kind, id, main)`` contacts/companies; a change touches the lead
        and announces update_lead like any other change (UNCONFIRMED for links)."""
        before = copy.deepcopy(lead)
        contacts_before = list(self.store.lead_contacts.get(lead["id"], ()))
        for kind, target, main in links:
            if kind == "companies":
                if not unlink:
                    lead["_company_id"] = target
                elif lead.get("_company_id") == target:
                    lead["_company_id"] = None
            elif unlink:
                self.store.unlink(lead["id"], target)
            else:
                self.store.link(lead["id"], target, main=main)
        changed = lead != before or self.store.lead_contacts.get(lead["id"], []) != contacts_before
        self.touch(lead, {}, changed)
        if changed and self.fires(source):
            self.announce_change(lead, before)
        return changed

    def _apply_tags(self, lead: dict, plan: dict) -> None:
        def ids(refs):
            return [ref if kind == "id" else self.store.tag_named(ref)["id"] for kind, ref in refs]

        if "tags" in plan:
            lead["_tags"] = list(dict.fromkeys(ids(plan["tags"])))
        if "tags_to_add" in plan:
            lead["_tags"] = list(dict.fromkeys(lead["_tags"] + ids(plan["tags_to_add"])))
        if "tags_to_delete" in plan:
            removed = set(ids(plan["tags_to_delete"]))
            lead["_tags"] = [tag_id for tag_id in lead["_tags"] if tag_id not in removed]

    # rendering -----------------------------------------------------------------------------
    def render(self, lead: dict, base: str, with_contacts: bool = False) -> dict:
        public = public_copy(lead)
        public["custom_fields_values"] = copy_values(lead["custom_fields_values"])
        public["_links"] = {"self": {"href": f"{base}/api/v4/leads/{lead['id']}"}}
        tags = [dict(self.store.tags[t]) for t in lead["_tags"] if t in self.store.tags]
        company_id = lead.get("_company_id")
        companies = [] if company_id is None else [_ref(base, "companies", company_id)]
        embedded: dict = {"tags": tags, "companies": companies}
        if with_contacts:
            contact_ids = self.store.lead_contacts.get(lead["id"], [])
            embedded["contacts"] = [
                dict(_ref(base, "contacts", cid), is_main=i == 0)
                for i, cid in enumerate(contact_ids)
            ]
        public["_embedded"] = embedded
        return public


def _ref(base: str, kind: str, entity_id: int) -> dict:
    return {"id": entity_id, "_links": {"self": {"href": f"{base}/api/v4/{kind}/{entity_id}"}}}
