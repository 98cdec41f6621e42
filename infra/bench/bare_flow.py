"""The baseline for route_latency.py: a Prefect flow with as many tasks as the crisis route,
whose last task sends one mail, and nothing of zorgtafel in it."""

from __future__ import annotations

import os
import smtplib
from email.message import EmailMessage

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

# screen, pick-experts, find-slot, record-zorgtafel, send-messages, await-outcome, publish-summary
N_TASKS = 7


@task(cache_policy=NO_CACHE)
def bare_step(i: int) -> int:
    return i


@task(cache_policy=NO_CACHE)
def bare_mail(tag: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "bench@zorgtafel.example", "sink@zorgtafel.example", tag
    msg.set_content("bare flow")
    with smtplib.SMTP(os.environ["ZT_SMTP_HOST"], int(os.environ["ZT_SMTP_PORT"])) as smtp:
        smtp.send_message(msg)


@flow(name="bare-flow")
def bare_flow(tag: str) -> None:
    for i in range(N_TASKS - 1):
        bare_step(i)
    bare_mail(tag)
