"""What leads and contacts share beyond Book: the write lifecycle with the webhooks it fires,
and the REST endpoints of a collection (list, get, create / update a batch, update one)."""

import copy
from collections.abc import Callable
from typing import Any

from werkzeug.wrappers import Response

from .answers import ApiError, Issues, hal, no_content
from .book import API, Book, request_id_of
from .cfields import check_values
from .context import Ctx
from .listing import modified_since, ordered, paged_answer, record_filter


class EntityBook(Book):
    """A book whose records live in ``store.<entity>``. Subclasses say how a plan is written
    into a record (``_apply``) and how an added or changed record is announced."""

    int_keys: tuple[str, ...] = ()
    string_keys: tuple[str, ...] = ()

    def check(
        self, item: Any, issues: Issues, current: dict | None = None, max_values=None, **_
    ) -> dict:
        """A plan of changes for one record; problems go to ``issues``."""
        if not isinstance(item, dict):
            issues.bad_type("", "object")
            return {}
        plan: dict = {}
        self.check_scalars(item, issues, plan, ints=self.int_keys, strings=self.string_keys)
        self._check_rest(item, issues, plan, current, max_values)
        return plan

    def _check_rest(
        self, item: dict, issues: Issues, plan: dict, current: dict | None, max_values
    ) -> None:
        """Adds to the plan what the scalar keys do not cover: here the custom field values."""
        if item.get("custom_fields_values") is not None:
            plan["custom_fields_values"] = check_values(
                self.store, self.entity, item["custom_fields_values"], issues, max_values
            )

    def records(self) -> dict:
        return getattr(self.store, self.entity)

    def create(self, items: list, source: str) -> list[dict]:
        """Validates the whole batch, then creates every record."""
        return [self.insert(plan, source) for plan, _ in self.plan_batch(items)]

    def insert(self, plan: dict, source: str) -> dict:
        raise NotImplementedError

    def update(self, items: list, source: str) -> list[dict]:
        """PATCH semantics: only the given keys change."""
        return [
            self.change(current, plan, source) for plan, current in self.plan_batch(items, True)
        ]

    def change(self, record: dict, plan: dict, source: str) -> dict:
        before = copy.deepcopy(record)
        links_added = self._apply(record, plan)
        changed = links_added or record != before
        self.touch(record, plan, changed)
        if changed and self.fires(source):
            self.announce_change(record, before)
        return record

    def _keep(self, record: dict, source: str) -> dict:
        """Stores a new record and announces it."""
        self.records()[record["id"]] = record
        if self.fires(source):
            self.announce_added(record)
        return record

    def _apply(self, record: dict, plan: dict) -> bool:
        """Writes the plan into the record; True when it linked something the record's own
        keys do not show (so the record changed even if it compares equal)."""
        raise NotImplementedError

    def announce_added(self, record: dict) -> None:
        raise NotImplementedError

    def announce_change(self, record: dict, before: dict) -> None:
        raise NotImplementedError


class EntityEndpoints:
    """/api/v4/<collection>: ``emu.<collection>`` is its book, ``store.<collection>`` its
    records; ``with_key`` is the ``with`` value that embeds the linked entities."""

    def __init__(
        self,
        collection: str,
        search: Callable[[Ctx, str], list[int]],
        with_key: str,
        not_found: str,
    ):
        self.collection = collection
        self.search = search
        self.with_key = with_key
        self.not_found = not_found

    def routes(self) -> list[tuple]:
        path = f"/api/v4/{self.collection}"
        return [
            (path, ["GET"], self.list_records),
            (path, ["POST"], self.create),
            (path, ["PATCH"], self.update_batch),
            (f"{path}/<int:entity_id>", ["GET"], self.get),
            (f"{path}/<int:entity_id>", ["PATCH"], self.update_one),
        ]

    def list_records(self, ctx: Ctx):
        params, records = ctx.params, getattr(ctx.store, self.collection)
        if params.get("query"):
            found = [records[i] for i in self.search(ctx, str(params["query"]))]
        else:
            found = list(records.values())
        if params.get("filter"):
            matches = record_filter(params["filter"])
            found = [record for record in found if matches(record)]
        found = modified_since(ctx.request, found, ctx.emu.if_modified_since)
        if found is None:
            return Response(status=304)
        found = ordered(found, params.get("order"), ctx.emu.default_order)
        book, embed = self._book(ctx), self.with_key in ctx.with_
        return paged_answer(
            ctx.request,
            params,
            found,
            self.collection,
            lambda record: book.render(record, ctx.base, embed),
        )

    def get(self, ctx: Ctx, entity_id: int):
        record = getattr(ctx.store, self.collection).get(entity_id)
        if record is None:
            # Kommo answers a missing (or deleted) entity with 204, not 404.
            return no_content()
        return hal(self._book(ctx).render(record, ctx.base, self.with_key in ctx.with_))

    def create(self, ctx: Ctx):
        items = ctx.batch()
        created = self._book(ctx).create(items, API)
        refs = [
            self._ref(ctx, record, request_id=request_id_of(item, index))
            for index, (item, record) in enumerate(zip(items, created, strict=True))
        ]
        return hal({"_links": ctx.self_link(), "_embedded": {self.collection: refs}})

    def update_batch(self, ctx: Ctx):
        items = ctx.batch()
        updated = self._book(ctx).update(items, API)
        refs = [
            self._ref(
                ctx, record, updated_at=record["updated_at"], request_id=request_id_of(item, index)
            )
            for index, (item, record) in enumerate(zip(items, updated, strict=True))
        ]
        return hal({"_links": ctx.self_link(), "_embedded": {self.collection: refs}})

    def update_one(self, ctx: Ctx, entity_id: int):
        body = ctx.object_body()
        if entity_id not in getattr(ctx.store, self.collection):
            raise ApiError(404, self.not_found)
        (record,) = self._book(ctx).update([dict(body, id=entity_id)], API)
        return hal(self._ref(ctx, record, updated_at=record["updated_at"]))

    def _book(self, ctx: Ctx) -> EntityBook:
        return getattr(ctx.emu, self.collection)

    def _ref(self, ctx: Ctx, record: dict, **extra) -> dict:
        href = f"{ctx.base}/api/v4/{self.collection}/{record['id']}"
        return {"id": record["id"], **extra, "_links": {"self": {"href": href}}}
