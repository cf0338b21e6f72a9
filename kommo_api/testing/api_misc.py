"""Account, pipelines, custom fields, tags and webhook subscriptions."""

from urllib.parse import urlsplit

from .answers import ApiError, Issues, hal, no_content, raise_if_invalid
from .book import request_id_of
from .cfields import check_field_spec, create_field, render_field
from .context import Ctx
from .delivery import KNOWN_EVENTS
from .listing import int_set, paged_answer
from .pipelines import render_pipeline, render_status


def get_account(ctx: Ctx):
    account = {key: value for key, value in ctx.store.account.items() if not key.startswith("_")}
    if "amojo_id" not in ctx.with_:
        account.pop("amojo_id", None)
    account["_links"] = {"self": {"href": f"{ctx.base}/api/v4/account"}}
    return hal(account)


# pipelines -----------------------------------------------------------------------------------
def list_pipelines(ctx: Ctx):
    pipelines = [render_pipeline(p, ctx.base) for p in ctx.store.pipelines.values()]
    body = {"_total_items": len(pipelines), "_links": ctx.self_link()}
    body["_embedded"] = {"pipelines": pipelines}
    return hal(body)


def _pipeline(ctx: Ctx, pipeline_id: int) -> dict:
    pipeline = ctx.store.pipelines.get(pipeline_id)
    if pipeline is None:
        raise ApiError(404, "Pipeline not found")
    return pipeline


def get_pipeline(ctx: Ctx, pipeline_id: int):
    return hal(render_pipeline(_pipeline(ctx, pipeline_id), ctx.base))


def list_statuses(ctx: Ctx, pipeline_id: int):
    statuses = [
        render_status(s, ctx.base) for s in _pipeline(ctx, pipeline_id)["statuses"].values()
    ]
    body = {"_total_items": len(statuses), "_links": ctx.self_link()}
    body["_embedded"] = {"statuses": statuses}
    return hal(body)


# custom fields -------------------------------------------------------------------------------
def list_fields(ctx: Ctx, entity: str):
    fields = list(ctx.store.fields(entity).values())
    render = lambda field: render_field(field, ctx.base)  # noqa: E731
    return paged_answer(ctx.request, ctx.params, fields, "custom_fields", render, total=True)


def get_field(ctx: Ctx, entity: str, field_id: int):
    field = ctx.store.fields(entity).get(field_id)
    if field is None:
        raise ApiError(404, "Custom field not found")
    return hal(render_field(field, ctx.base))


def create_fields(ctx: Ctx, entity: str):
    items = ctx.batch()
    all_issues = [Issues(request_id_of(item, i)) for i, item in enumerate(items)]
    for item, issues in zip(items, all_issues, strict=True):
        check_field_spec(ctx.store, entity, item, issues)
    codes = [item.get("code") for item in items if item.get("code")]
    if len(codes) != len(set(codes)):
        all_issues[-1].bad_choice("code")
    raise_if_invalid(all_issues)
    created = []
    for item, issues in zip(items, all_issues, strict=True):
        field = render_field(create_field(ctx.store, entity, item), ctx.base)
        created.append(dict(field, request_id=issues.request_id))
    return hal({"_total_items": len(created), "_embedded": {"custom_fields": created}})


# tags ----------------------------------------------------------------------------------------
def list_tags(ctx: Ctx):
    tags = list(ctx.store.tags.values())
    query = str(ctx.params.get("query") or "").lower()
    if query:
        tags = [tag for tag in tags if query in tag["name"].lower()]
    flt = ctx.params.get("filter")
    if isinstance(flt, dict) and "id" in flt:
        ids = int_set(flt["id"], "filter[id]")
        tags = [tag for tag in tags if tag["id"] in ids]
    if isinstance(flt, dict) and "name" in flt:
        tags = [tag for tag in tags if tag["name"] == flt["name"]]
    return paged_answer(ctx.request, ctx.params, tags, "tags", dict)


def create_tags(ctx: Ctx):
    items = ctx.batch()
    all_issues = [Issues(request_id_of(item, i)) for i, item in enumerate(items)]
    for item, issues in zip(items, all_issues, strict=True):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str) or not name.strip():
            issues.blank("name")
    raise_if_invalid(all_issues)
    created = [
        dict(ctx.store.tag_named(item["name"].strip(), item.get("color")), request_id=i.request_id)
        for item, i in zip(items, all_issues, strict=True)
    ]
    return hal({"_links": ctx.self_link(), "_embedded": {"tags": created}})


# webhooks ------------------------------------------------------------------------------------
def _destination(body: dict, issues: Issues) -> str | None:
    destination = body.get("destination")
    parts = urlsplit(destination) if isinstance(destination, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        issues.bad_choice("destination")
        return None
    return destination


def list_webhooks(ctx: Ctx):
    hooks = list(ctx.store.webhooks.values())
    flt = ctx.params.get("filter")
    if isinstance(flt, dict) and flt.get("destination"):
        hooks = [hook for hook in hooks if hook["destination"] == flt["destination"]]
    if not hooks:
        return no_content()
    body = {"_total_items": len(hooks), "_links": ctx.self_link()}
    body["_embedded"] = {
        "webhooks": [dict(hook, settings=list(hook["settings"])) for hook in hooks]
    }
    return hal(body)


def subscribe_webhook(ctx: Ctx):
    """Subscribing an already subscribed destination replaces its settings and enables it
    again if Kommo disabled it (UNCONFIRMED: Kommo says only "until re-enabled")."""
    body, issues = ctx.object_body(), Issues("0")
    destination = _destination(body, issues)
    settings = body.get("settings")
    if not isinstance(settings, list) or not settings:
        issues.blank("settings")
    elif any(event not in KNOWN_EVENTS for event in settings):
        issues.bad_choice("settings")
    raise_if_invalid([issues])
    now = ctx.emu.clock.timestamp()
    hook = next((h for h in ctx.store.webhooks.values() if h["destination"] == destination), None)
    if hook is None:
        hook = {"id": ctx.store.next_id("webhook"), "destination": destination, "created_at": now}
        hook.update(
            account_id=ctx.store.account["id"], created_by=ctx.store.account["current_user_id"]
        )
        ctx.store.webhooks[hook["id"]] = hook
    hook.update(updated_at=now, sort=body.get("sort", 1), disabled=False, settings=list(settings))
    ctx.emu.webhook_health.forget(hook["id"])
    return hal(dict(hook, settings=list(hook["settings"])), status=201)


def unsubscribe_webhook(ctx: Ctx):
    body, issues = ctx.object_body(), Issues("0")
    destination = _destination(body, issues)
    raise_if_invalid([issues])
    for hook_id, hook in list(ctx.store.webhooks.items()):
        if hook["destination"] == destination:
            del ctx.store.webhooks[hook_id]
    return no_content()


_ENTITY = "<any(leads, contacts):entity>"
ROUTES = [
    ("/api/v4/account", ["GET"], get_account),
    ("/api/v4/leads/pipelines", ["GET"], list_pipelines),
    ("/api/v4/leads/pipelines/<int:pipeline_id>", ["GET"], get_pipeline),
    ("/api/v4/leads/pipelines/<int:pipeline_id>/statuses", ["GET"], list_statuses),
    (f"/api/v4/{_ENTITY}/custom_fields", ["GET"], list_fields),
    (f"/api/v4/{_ENTITY}/custom_fields", ["POST"], create_fields),
    (f"/api/v4/{_ENTITY}/custom_fields/<int:field_id>", ["GET"], get_field),
    ("/api/v4/leads/tags", ["GET"], list_tags),
    ("/api/v4/leads/tags", ["POST"], create_tags),
    ("/api/v4/webhooks", ["GET"], list_webhooks),
    ("/api/v4/webhooks", ["POST"], subscribe_webhook),
    ("/api/v4/webhooks", ["DELETE"], unsubscribe_webhook),
]
