"""Pipelines and their statuses; every pipeline ends with the system stages 142 and 143."""

from collections.abc import Iterable

from .store import LOST_STATUS_ID, WON_STATUS_ID, Store

STAGE_COLORS = ("#99ccff", "#fffeb2", "#fff000", "#ffcc66", "#ccff66", "#ffc8c8")


def add_pipeline(
    store: Store,
    name: str,
    stages: Iterable[str],
    *,
    is_main: bool = False,
    won_name: str = "Closed - won",
    lost_name: str = "Closed - lost",
) -> dict:
    pipeline_id = store.next_id("pipeline")
    account_id = store.account["id"]
    if is_main:
        for other in store.pipelines.values():
            other["is_main"] = False
    pipeline = {
        "id": pipeline_id,
        "name": name,
        "sort": (len(store.pipelines) + 1) * 10,
        "is_main": is_main or not store.pipelines,
        "is_unsorted_on": False,
        "is_archive": False,
        "account_id": account_id,
        "statuses": {},
    }
    named = [(store.next_id("status"), stage, 0) for stage in stages]
    named += [(WON_STATUS_ID, won_name, 0), (LOST_STATUS_ID, lost_name, 0)]
    for sort, (status_id, stage, kind) in enumerate(named, start=1):
        pipeline["statuses"][status_id] = {
            "id": status_id,
            "name": stage,
            "sort": sort * 10 if status_id not in (WON_STATUS_ID, LOST_STATUS_ID) else 10000 + sort,
            "is_editable": status_id not in (WON_STATUS_ID, LOST_STATUS_ID),
            "pipeline_id": pipeline_id,
            "color": STAGE_COLORS[sort % len(STAGE_COLORS)],
            "type": kind,
            "account_id": account_id,
        }
    store.pipelines[pipeline_id] = pipeline
    return pipeline


def render_status(status: dict, base: str) -> dict:
    href = f"{base}/api/v4/leads/pipelines/{status['pipeline_id']}/statuses/{status['id']}"
    return dict(status, _links={"self": {"href": href}})


def render_pipeline(pipeline: dict, base: str) -> dict:
    public = {key: value for key, value in pipeline.items() if key != "statuses"}
    public["_links"] = {"self": {"href": f"{base}/api/v4/leads/pipelines/{pipeline['id']}"}}
    statuses = [render_status(s, base) for s in pipeline["statuses"].values()]
    public["_embedded"] = {"statuses": statuses}
    return public
