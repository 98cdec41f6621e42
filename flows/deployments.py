"""The deployments this project serves; the API starts runs of them by name."""

from __future__ import annotations

from prefect.deployments.runner import RunnerDeployment

from flows.crisis_route import ROUTE_TAGS, crisis_route

CRISIS_ROUTE = "crisis-route/crisis-route"


def deployments() -> list[RunnerDeployment]:
    return [
        crisis_route.to_deployment(
            name="crisis-route",
            tags=ROUTE_TAGS,
            description="Werf 2 crisisroute: zorgtafel binnen 48 uur na aanmelding.",
        )
    ]


def serve_all() -> None:
    from prefect import serve

    serve(*deployments(), print_starting_message=True)
