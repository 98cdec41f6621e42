"""The outbox dispatcher as a scheduled flow: sends whatever is due (new intents a route did not
send itself, and retries after their backoff). Its runs show in the Prefect UI; a failing SMTP
server shows as retried intents in the counts, never as lost messages."""

from __future__ import annotations

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from notifications.dispatch import dispatch_pending

DISPATCH_TAGS = ["outbox"]


@task(name="dispatch-due-messages", cache_policy=NO_CACHE)
def dispatch_due() -> dict[str, int]:
    report = dispatch_pending()
    counts = {"sent": report.sent, "retry_later": report.retryable, "failed": report.failed}
    get_run_logger().info("outbox: %s", counts)
    return counts


@flow(name="outbox-dispatcher", log_prints=False)
def outbox_dispatcher() -> dict[str, int]:
    """Send every due intent in the outbox."""
    return dispatch_due()
