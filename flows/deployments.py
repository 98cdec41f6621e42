"""The deployments this project serves; the API starts runs of them by name."""

from __future__ import annotations

from datetime import timedelta

from prefect.deployments.runner import RunnerDeployment

from flows.availability import AVAILABILITY_TAGS, availability_sync
from flows.care_plan import evaluation, zorgtafel_outcome
from flows.crisis_route import ROUTE_TAGS, crisis_route
from flows.outbox_dispatcher import DISPATCH_TAGS, outbox_dispatcher
from flows.retention import RETENTION_TAGS, retention
from flows.watch import WATCH_TAGS, zorgtafel_watch
from zorgtafel.settings import get_settings

OUTBOX_DISPATCHER = "outbox-dispatcher/outbox-dispatcher"


def deployments() -> list[RunnerDeployment]:
    return [
        crisis_route.to_deployment(
            name="crisis-route",
            tags=ROUTE_TAGS,
            description="Werf 2 crisisroute: zorgtafel binnen 48 uur na aanmelding.",
        ),
        zorgtafel_outcome.to_deployment(
            name="zorgtafel-outcome",
            tags=["care-plan"],
            description="Wacht op de uitkomst van de zorgtafel (formulier in de UI of via de API).",
        ),
        evaluation.to_deployment(
            name="evaluation",
            tags=["care-plan"],
            description="Evaluatie om de 6 weken: wacht op de uitkomst en voert ze uit.",
        ),
        outbox_dispatcher.to_deployment(
            name="outbox-dispatcher",
            tags=DISPATCH_TAGS,
            interval=timedelta(seconds=get_settings().outbox_dispatch_interval_seconds),
            description="Verstuurt wat in de outbox klaarstaat en probeert mislukte berichten opnieuw.",
        ),
        zorgtafel_watch.to_deployment(
            name="zorgtafel-watch",
            tags=WATCH_TAGS,
            interval=timedelta(seconds=get_settings().watch_interval_seconds),
            description="Antwoorden, vervanging en escalatie: bewaakt open zorgtafels tot ze bevestigd zijn.",
        ),
        availability_sync.to_deployment(
            name="availability-sync",
            tags=AVAILABILITY_TAGS,
            interval=timedelta(minutes=get_settings().availability_sync_minutes),
            description="Haalt de beschikbaarheidsagenda's van de partnerorganisaties op.",
        ),
        retention.to_deployment(
            name="retention",
            tags=RETENTION_TAGS,
            interval=timedelta(days=1),
            description="Anonimiseert afgesloten dossiers na de bewaartermijn.",
        ),
    ]


def serve_all() -> None:
    from prefect import serve

    serve(*deployments(), print_starting_message=True)
