"""Retention as a scheduled Prefect flow: closed cases are anonymised ``ZT_RETENTION_DAYS`` after
they ended (zorgtafel.retention). The run's logs and result hold counts and case references
only, never personal data."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from zorgtafel import retention as core
from zorgtafel.clock import utcnow
from zorgtafel.db.session import session_factory
from zorgtafel.settings import get_settings

RETENTION_TAGS = ["retention", "privacy"]


@task(name="anonymise-ended-cases", cache_policy=NO_CACHE)
def anonymise_ended_cases(limit: int) -> dict[str, object]:
    settings = get_settings()
    report = core.run(session_factory(), now=utcnow(), settings=settings, limit=limit)
    logger = get_run_logger()
    logger.info(
        "retention (%s days): %d case(s) anonymised, %d failed",
        settings.retention_days,
        len(report.anonymised),
        len(report.failed),
    )
    for reference in report.failed:
        logger.error("retention: %s could not be anonymised; see the API/flow logs", reference)
    return {"anonymised": report.anonymised, "failed": report.failed}


@flow(name="retention", log_prints=False)
def retention(limit: int = 500) -> dict[str, object]:
    """Anonymise the personal data of cases that ended more than the retention period ago."""
    result = anonymise_ended_cases(limit)
    if result["failed"]:
        raise RuntimeError(f"retention: {len(result['failed'])} case(s) could not be anonymised")
    return result
