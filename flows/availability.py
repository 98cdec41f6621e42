"""The scheduled import of the availability feeds partner agencies publish (issue 3).

Every ``ZT_AVAILABILITY_SYNC_MINUTES`` the ``availability-sync`` deployment fetches the feed of
every active expert that has one and replaces that expert's imported busy time. A feed that cannot
be fetched or read leaves the busy time imported before and notes the error on the expert
(``GET /api/v1/pool/experts/{id}`` shows it to coordinators). The run name, logs and result carry
counts and expert ids only: never a name, an address or a feed URL (feed URLs often hold a token).
"""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from notifications.availability_fetch import sync_all
from zorgtafel.clock import utcnow

AVAILABILITY_TAGS = ["availability"]


def _run_name() -> str:
    return f"availability-sync-{utcnow():%Y%m%dT%H%MZ}"


@task(name="sync-availability-feeds", cache_policy=NO_CACHE)
def sync_feeds() -> dict[str, object]:
    logger = get_run_logger()
    report = sync_all()
    counts = report.counts()
    logger.info("availability feeds: %s", counts)
    if report.failed:
        logger.warning(
            "availability feeds not updated for expert ids %s (their earlier busy time is kept)",
            ", ".join(map(str, report.failed)),
        )
    return {**counts, "failed_expert_ids": list(report.failed)}


@flow(name="availability-sync", flow_run_name=_run_name, log_prints=False)
def availability_sync() -> dict[str, object]:
    """Fetch and import every active expert's availability feed."""
    return sync_feeds()
