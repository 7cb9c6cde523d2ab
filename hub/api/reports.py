"""`GET /api/v1/reports/summary` (supervisors): hub/reports.py as JSON or CSV."""

from __future__ import annotations

from aiohttp import web

from hub.api.common import current_supervisor, hub_of
from hub.domain import utcnow
from hub.reports import build_report, check_report_request, report_csv

routes = web.RouteTableDef()


@routes.get("/api/v1/reports/summary")
async def summary(request: web.Request) -> web.Response:
    agent = await current_supervisor(request)
    hub = hub_of(request)
    wanted = check_report_request(request.query, utcnow())
    names = {a.id: a.name for a in await hub.store.list_agents(agent.tenant)}
    report = await build_report(hub.store, agent.tenant, wanted, names)
    if request.query.get("format") == "csv":
        filename = f"report-{report['from']}-{report['to']}-{report['group_by']}.csv"
        return web.Response(
            text=report_csv(report),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )
    return web.json_response(report)
