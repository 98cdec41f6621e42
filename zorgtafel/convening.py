"""The watch over a case until its zorgtafel is confirmed: answers, silence, replacements,
escalation and the 48-hour deadline. Called by the scheduled ``zorgtafel-watch`` flow (every
``ZT_WATCH_INTERVAL_SECONDS``) and right after a decline arrives; also the coordinator's
pin/exclude directives.

``watch_case`` is idempotent: it derives what to do from the stored state and the clock, so a
second run (or two runs at once: the case row is locked) changes and sends nothing new. One call
is one unit of work; the caller commits.

Per case, in this order:

(a) no zorgtafel yet and before the deadline: try to plan (the pool may have changed);
(b) each expert who declined, stayed silent (``pending``/``sent``) past ``response_due_at``, or
    was excluded by a coordinator after planning, is replaced: the other expert stays (fixed),
    the leaver and every expert replaced before are excluded, and ``best_match`` chooses the
    newcomer. If the current slot still works with the new pair, it is kept: the newcomer gets a
    REQUEST, everyone else an update (SEQUENCE + 1, answers kept: only the attendee list
    changed), the leaver a CANCEL. Otherwise the zorgtafel moves to the best slot before the
    deadline (SEQUENCE + 1 to everyone, everyone asked again). If even that fails with the other
    expert fixed, a completely new pair is tried (keeping the 48 hours beats keeping a person).
    If nothing fits, nobody is replaced (a silent expert may still answer) and the case is at
    risk (``no_replacement``);
(c) both experts accepted: ``confirmed_at`` (and any risk is over);
(d) from ``ZT_ESCALATION_HOURS_BEFORE_DEADLINE`` before the deadline an unconfirmed case is at
    risk (``awaiting_answers``, ``unconfirmed_experts``, ``planned_after_deadline``); a case at
    risk for a reason no answer can fix (``no_feasible_pair``, ``pinned_expert_unavailable``,
    ``no_replacement``, ``no_case_manager``) is at risk at once. The coordinators are warned once
    per case (``escalated_at``), by apprise and mail: reference, reason and deadline only;
(e) after the deadline without a confirmed zorgtafel starting by then: ``deadline_missed_at`` and
    its reason, once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from zorgtafel import invitations, outbox, pool, route, timeline
from zorgtafel.db.models import AppUser, Case, CaseExpertDirective, Expert, Participant, Zorgtafel
from zorgtafel.errors import FieldProblem, NotFound, ValidationFailed
from zorgtafel.route import RISK_LABELS_NL, clear_risk, risk_label, set_risk
from zorgtafel.settings import Settings
from zorgtafel.vocabulary import CaseStatus, InvitationState, ParticipantRole, Role

__all__ = [
    "RISK_LABELS_NL",
    "AtRisk",
    "CaseReport",
    "add_directive",
    "at_risk_cases",
    "list_directives",
    "references_to_watch",
    "revoke_directive",
    "risk_label",
    "watch_case",
]

OPEN_STATUSES = (CaseStatus.CONVENING, CaseStatus.ZORGTAFEL_PLANNED, CaseStatus.AT_RISK)
# Reasons no answer will fix: the coordinator is warned at once, not only near the deadline.
URGENT = frozenset({"no_feasible_pair", "pinned_expert_unavailable", "no_replacement", "no_case_manager"})
WAITING = (InvitationState.PENDING, InvitationState.SENT)
LEAVE_TEXT = {
    "declined": "heeft geweigerd",
    "no_answer": "antwoordde niet binnen de antwoordtermijn",
    "excluded": "werd door de coördinator uitgesloten",
    "released": "maakt plaats voor een nieuw koppel dat nog binnen de termijn kan samenkomen",
}


@dataclass
class CaseReport:
    """What one watch did to one case: codes and the reference only."""

    reference: str
    actions: list[str] = field(default_factory=list)
    at_risk: str | None = None  # the risk reason after this run
    escalated: bool = False  # the coordinators were warned in this run
    confirmed: bool = False
    deadline_missed: str | None = None

    @property
    def touched(self) -> bool:
        return bool(self.actions)

    def as_dict(self) -> dict:
        return {
            "reference": self.reference,
            "actions": list(self.actions),
            "at_risk": self.at_risk,
            "escalated": self.escalated,
            "confirmed": self.confirmed,
            "deadline_missed": self.deadline_missed,
            "touched": self.touched,
        }


# --------------------------------------------------------------------------- which cases


def references_to_watch(session: Session, *, now: datetime, limit: int = 500) -> list[str]:
    """Open cases that may still need something: not finished (after the deadline with the
    deadline recorded as met or missed and no zorgtafel still ahead)."""
    finished = and_(
        Case.zorgtafel_deadline < now,
        or_(Case.deadline_missed_at.is_not(None), Case.confirmed_at.is_not(None)),
        or_(Zorgtafel.id.is_(None), Zorgtafel.starts_at <= now),
    )
    q = (
        select(Case.reference)
        .outerjoin(Zorgtafel, Zorgtafel.case_id == Case.id)
        .where(Case.status.in_(OPEN_STATUSES), Case.eligible.is_(True), ~finished)
        .order_by(Case.zorgtafel_deadline, Case.id)
        .limit(limit)
    )
    return list(session.scalars(q))


@dataclass(frozen=True)
class AtRisk:
    """A case at risk, as a coordinator's list shows it (no personal data)."""

    reference: str
    reason: str
    since: datetime
    deadline: datetime
    escalated_at: datetime | None
    deadline_missed: str | None


def at_risk_cases(session: Session) -> list[AtRisk]:
    rows = session.scalars(
        select(Case)
        .where(Case.status.in_(OPEN_STATUSES), Case.at_risk_since.is_not(None))
        .order_by(Case.zorgtafel_deadline, Case.id)
    )
    return [
        AtRisk(
            c.reference,
            c.risk_reason or "",
            c.at_risk_since,
            c.zorgtafel_deadline,
            c.escalated_at,
            c.deadline_missed_reason,
        )
        for c in rows
        if c.at_risk_since is not None
    ]


# --------------------------------------------------------------------------- the watch


def watch_case(session: Session, reference: str, *, now: datetime, settings: Settings) -> CaseReport:
    """One pass over one case (see the module docstring); idempotent."""
    case = session.scalar(select(Case).where(Case.reference == reference).with_for_update())
    if case is None:
        raise NotFound(reference)
    report = CaseReport(case.reference)
    if case.status not in OPEN_STATUSES or not case.eligible:
        return report
    problem: str | None = None
    z = case.zorgtafel
    if z is not None:
        # Lock the participants too (PostgreSQL): an answer arriving now waits for this pass, or
        # this pass sees it; a silent expert who just accepted is never replaced.
        session.scalars(
            select(Participant)
            .where(Participant.zorgtafel_id == z.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).all()
    if z is None:
        problem = _plan(session, case, report, now=now, settings=settings)
        z = case.zorgtafel
    elif z.status == "planned":
        problem = _replace(session, case, z, report, now=now, settings=settings)
        _confirm(session, case, z, report, now=now)
    _risk(session, case, problem, report, now=now, settings=settings)
    _deadline(session, case, report, now=now)
    session.flush()
    report.at_risk = case.risk_reason if case.at_risk_since is not None else None
    return report


def _plan(
    session: Session, case: Case, report: CaseReport, *, now: datetime, settings: Settings
) -> str | None:
    """(a) Plan a zorgtafel if one fits before the deadline; else the reason it does not."""
    if now >= case.zorgtafel_deadline:
        return case.risk_reason or "no_feasible_pair"
    ref = case.reference
    plan = route.find_plan(session, ref, route.shortlist(session, ref), now=now, settings=settings)
    if plan is None:
        return route.no_plan_reason(session, ref, now=now, settings=settings)
    route.record_zorgtafel(session, ref, plan, now=now, settings=settings)
    report.actions.append("planned")
    return None


def _leavers(
    session: Session, case: Case, experts: list[Participant], *, now: datetime
) -> list[tuple[Participant, str]]:
    excluded = pool.directives(session, case.id).excluded
    out = []
    for p in experts:
        if p.invitation_state == InvitationState.DECLINED:
            out.append((p, "declined"))
        elif p.expert_id in excluded:
            out.append((p, "excluded"))
        elif p.invitation_state in WAITING and p.response_due_at is not None and now >= p.response_due_at:
            out.append((p, "no_answer"))
    return out


def _replaced(p: Participant) -> bool:
    # replaced_at as well: it survives a late "sent" report of an invitation that was in flight.
    return p.replaced_at is not None or p.invitation_state == InvitationState.REPLACED


def _expert_participants(z: Zorgtafel) -> list[Participant]:
    """The experts at the table (not replaced)."""
    return [p for p in z.participants if p.role == ParticipantRole.EXPERT and not _replaced(p)]


def _replace(
    session: Session, case: Case, z: Zorgtafel, report: CaseReport, *, now: datetime, settings: Settings
) -> str | None:
    """(b) Replace declined, silent and excluded experts; None, or the reason it failed."""
    if z.starts_at <= now:
        return None
    experts = _expert_participants(z)
    leaving = _leavers(session, case, experts, now=now)
    if not leaving:
        return None
    leaving_ids = {p.expert_id for p, _ in leaving}
    staying = [p for p in experts if p.expert_id not in leaving_ids]
    d = pool.directives(session, case.id)
    replaced_before = {
        p.expert_id for p in z.participants if p.role == ParticipantRole.EXPERT and _replaced(p)
    }
    excluded = set(d.excluded) | replaced_before | {i for i in leaving_ids if i is not None}
    kept_ids = [p.expert_id for p in staying if p.expert_id is not None]
    pins = [i for i in d.pinned if i not in excluded and i not in kept_ids]
    fixed = (kept_ids + pins)[:2]
    lead = timedelta(minutes=settings.min_lead_minutes)
    common = {"now": now, "settings": settings, "excluded": excluded, "ignore_zorgtafel_id": z.id}

    match = None
    if z.starts_at >= now + lead:
        # The current slot, exactly (a grid of one start); the newcomer gets the lead time too.
        match = route.search(
            session, case, not_before=z.starts_at, latest_start=z.starts_at, fixed=fixed,
            step=timedelta(microseconds=1), **common,
        )  # fmt: skip
    latest = max(case.zorgtafel_deadline, z.starts_at)
    if match is None:
        match = route.search(session, case, not_before=now + lead, latest_start=latest, fixed=fixed, **common)
    if match is None and kept_ids:
        # Keeping the 48 hours beats keeping a person: a wholly new pair (pins still hold).
        fallback = [i for i in d.pinned if i not in excluded][:2]
        match = route.search(
            session, case, not_before=now + lead, latest_start=latest, fixed=fallback, **common
        )
    if match is None:
        report.actions.append("no_replacement")
        return "no_replacement"
    kept_slot = match.starts_at == z.starts_at  # also when a wholly new pair fits the same slot
    old_start, old_end = z.starts_at, z.ends_at

    released = [p for p in staying if p.expert_id not in match.expert_ids]
    for p, why in [*leaving, *((p, "released") for p in released)]:
        p.invitation_state = InvitationState.REPLACED
        p.replaced_at = now
        timeline.record(
            session,
            case,
            "expert_replaced",
            f"{p.label} {LEAVE_TEXT[why]}; er wordt een andere expert uitgenodigd.",
            data={"participant_id": p.id, "expert_id": p.expert_id, "why": why},
            at=now,
        )
    seated = {p.expert_id for p in staying if p not in released}
    newcomers: list[Participant] = []
    for expert_id in match.expert_ids:
        if expert_id in seated:
            continue
        expert = session.get_one(Expert, expert_id)
        newcomer = Participant(
            zorgtafel=z,
            role=ParticipantRole.EXPERT,
            party_key=f"expert:{expert.id}",
            expert_id=expert.id,
            email=expert.email,
            label=f"Expert ({expert.agency.name})",
            invitation_state=InvitationState.PENDING,
        )
        session.add(newcomer)
        newcomers.append(newcomer)
        expert.last_invited_at = now
    z.sequence += 1
    if kept_slot:
        for p in newcomers:
            p.response_due_at = invitations.response_due(now, z.starts_at, settings)
        session.flush()
        invitations.enqueue_version(
            session, case, z, method="REQUEST", now=now, settings=settings, answers_kept=True
        )
        report.actions.append("replaced_slot_kept")
    else:
        z.starts_at, z.ends_at = match.starts_at, match.ends_at
        due = invitations.response_due(now, z.starts_at, settings)
        for p in _expert_participants(z):
            # Asked again for the new time.
            p.invitation_state = InvitationState.PENDING
            p.response_due_at = due
        local = z.starts_at.astimezone(settings.tz)
        session.flush()
        late = z.starts_at > case.zorgtafel_deadline
        timeline.record(
            session,
            case,
            "zorgtafel_rescheduled",
            f"Zorgtafel verplaatst naar {local:%d-%m-%Y %H:%M} ({z.location}) om een vervangende expert "
            "te kunnen uitnodigen." + (" Let op: na de 48-uurstermijn." if late else ""),
            data={"sequence": z.sequence, "starts_at": z.starts_at.isoformat(), "after_deadline": late},
            at=now,
        )
        invitations.enqueue_version(session, case, z, method="REQUEST", now=now, settings=settings)
        report.actions.append("replaced_moved")
    for p, _ in [*leaving, *((p, "released") for p in released)]:
        # The CANCEL names the time the leaver was invited for, with the new SEQUENCE.
        invitations.withdraw(session, case, z, p, starts_at=old_start, ends_at=old_end)
    timeline.record(
        session,
        case,
        "experts_replaced",
        f"{len(newcomers)} vervangende expert(s) uitgenodigd; samen dekt het koppel {len(match.covered)} "
        f"van de {len(set(case.concerns or ()))} zorgen; belasting van het koppel: {match.load}. "
        + ("Tijdstip ongewijzigd." if kept_slot else "Nieuw tijdstip voor iedereen."),
        data={
            "expert_ids": list(match.expert_ids),
            "new_expert_ids": [p.expert_id for p in newcomers],
            "covered": len(match.covered),
            "pair_load": match.load,
            "slot_kept": kept_slot,
            "sequence": z.sequence,
        },
        at=now,
    )
    return None


def _confirm(session: Session, case: Case, z: Zorgtafel, report: CaseReport, *, now: datetime) -> None:
    """(c) Both experts accepted: the zorgtafel is confirmed."""
    experts = _expert_participants(z)
    both = len(experts) == 2 and all(p.invitation_state == InvitationState.ACCEPTED for p in experts)
    if both and case.confirmed_at is None:
        case.confirmed_at = now
        timeline.record(
            session,
            case,
            "zorgtafel_confirmed",
            "Zorgtafel bevestigd: beide experts aanvaard.",
            data={"sequence": z.sequence},
            at=now,
        )
        report.actions.append("confirmed")
    elif not both and case.confirmed_at is not None:
        case.confirmed_at = None
        timeline.record(
            session,
            case,
            "confirmation_withdrawn",
            "Zorgtafel niet langer bevestigd: een expert heeft zijn antwoord gewijzigd.",
            data={"sequence": z.sequence},
            at=now,
        )
        report.actions.append("confirmation_withdrawn")
    report.confirmed = case.confirmed_at is not None


def _unconfirmed_reason(case: Case) -> str | None:
    z = case.zorgtafel
    if z is None or z.status != "planned":
        return "no_feasible_pair"
    if z.starts_at > case.zorgtafel_deadline:
        return "planned_after_deadline"
    if any(p.invitation_state in WAITING for p in _expert_participants(z)):
        return "awaiting_answers"
    return "unconfirmed_experts"


def _risk(
    session: Session,
    case: Case,
    problem: str | None,
    report: CaseReport,
    *,
    now: datetime,
    settings: Settings,
) -> None:
    """(d) At risk or not, and warn the coordinators once."""
    window_opens = case.zorgtafel_deadline - timedelta(hours=settings.escalation_hours_before_deadline)
    if case.confirmed_at is not None:
        if clear_risk(session, case, now=now, why="beide experts hebben aanvaard."):
            report.actions.append("risk_resolved")
        return
    z = case.zorgtafel
    # Once the zorgtafel has begun, answers no longer change anything: the risk stays as it was
    # and the deadline check (e) has the last word.
    started = z is not None and z.status == "planned" and z.starts_at <= now
    reason = problem
    if reason is None and now >= window_opens and not started:
        reason = _unconfirmed_reason(case)
    if reason is None:
        if not started and clear_risk(
            session, case, now=now, why="er is een zorgtafel met twee uitgenodigde experts."
        ):
            report.actions.append("risk_resolved")
        return
    if set_risk(session, case, reason, now=now):
        report.actions.append(f"at_risk:{reason}")
    if case.escalated_at is None and (now >= window_opens or reason in URGENT):
        _escalate(session, case, reason, now=now, settings=settings)
        report.escalated = True
        report.actions.append("escalated")


def coordinator_targets(session: Session, case: Case, settings: Settings) -> tuple[list[str], list[str]]:
    """Apprise URLs and addresses of the coordinators of the case's region (settings first)."""
    urls = list(settings.coordinator_notify_urls)
    emails = [settings.coordinator_email] if settings.coordinator_email else []
    users = session.scalars(
        select(AppUser)
        .where(AppUser.role == Role.COORDINATOR, AppUser.active.is_(True), AppUser.region == case.region)
        .order_by(AppUser.id)
    )
    for user in users:
        urls.extend(user.notify_urls or [])
        if user.email:
            emails.append(user.email)
    return list(dict.fromkeys(urls)), list(dict.fromkeys(e.strip().lower() for e in emails))


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def _escalate(session: Session, case: Case, reason: str, *, now: datetime, settings: Settings) -> None:
    urls, emails = coordinator_targets(session, case, settings)
    payload = {
        "reference": case.reference,
        "reason": reason,
        "deadline": case.zorgtafel_deadline.isoformat(),
    }
    for address in emails:
        outbox.enqueue(
            session,
            key=f"escalation:{case.reference}:email:{_digest(address)}",
            kind="escalation_notice",
            recipient=address,
            payload=payload,
            case=case,
        )
    for i, url in enumerate(urls):
        outbox.enqueue(
            session,
            key=f"escalation:{case.reference}:apprise:{_digest(url)}",
            kind="escalation_notice",
            channel="apprise",
            recipient=f"Coördinator (kanaal {i + 1})",
            payload={**payload, "url": url},
            case=case,
        )
    case.escalated_at = now
    told = (
        f"{len(emails)} e-mailadres(sen) en {len(urls)} ander(e) kanaal/kanalen"
        if emails or urls
        else "geen kanaal ingesteld: alleen zichtbaar in de API en in Prefect"
    )
    timeline.record(
        session,
        case,
        "escalated",
        f"Coördinator verwittigd ({told}): {risk_label(reason)}.",
        data={"reason": reason, "emails": len(emails), "channels": len(urls)},
        at=now,
    )


def _deadline(session: Session, case: Case, report: CaseReport, *, now: datetime) -> None:
    """(e) Record a missed deadline once, with its reason."""
    if now <= case.zorgtafel_deadline or case.deadline_missed_at is not None:
        return
    z = case.zorgtafel
    met = (
        z is not None
        and z.status in ("planned", "held")
        and z.starts_at <= case.zorgtafel_deadline
        and case.confirmed_at is not None
    )
    if met:
        return
    if z is None or z.status == "cancelled":
        reason = "no_zorgtafel"
    elif z.starts_at > case.zorgtafel_deadline:
        reason = "planned_after_deadline"
    elif case.risk_reason == "no_replacement":
        reason = "no_replacement"
    else:
        reason = "unconfirmed_experts"
    case.deadline_missed_at = now
    case.deadline_missed_reason = reason
    timeline.record(
        session,
        case,
        "deadline_missed",
        f"Termijn van 48 uur niet gehaald: {risk_label(reason)}.",
        data={"reason": reason},
        at=now,
    )
    report.deadline_missed = reason
    report.actions.append(f"deadline_missed:{reason}")


# --------------------------------------------------------------------------- directives


@dataclass(frozen=True)
class DirectiveView:
    id: int
    kind: str
    expert_id: int
    agency_code: str
    reason: str
    actor: str
    created_at: datetime
    revoked_at: datetime | None


def _view(session: Session, d: CaseExpertDirective) -> DirectiveView:
    expert = session.get_one(Expert, d.expert_id)
    return DirectiveView(
        d.id, d.kind, d.expert_id, expert.agency.code, d.reason, d.actor, d.created_at, d.revoked_at
    )


def list_directives(session: Session, case: Case) -> list[DirectiveView]:
    rows = session.scalars(
        select(CaseExpertDirective)
        .where(CaseExpertDirective.case_id == case.id)
        .order_by(CaseExpertDirective.id)
    )
    return [_view(session, d) for d in rows]


def _problem(loc: str, code: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldProblem((loc,), code, message)])


def add_directive(
    session: Session,
    case: Case,
    *,
    kind: str,
    expert_id: int,
    reason: str,
    actor: str,
    now: datetime,
) -> DirectiveView:
    """A coordinator pins (must be in the pair) or excludes (may not be) an expert for this
    case, with a reason on the timeline. Checked: the kind, the reason (5-500 characters), the
    expert exists and is active, no pin from the registrant's agency, not pinned and excluded at
    once, at most two pins and from two agencies, and the case still convening."""
    reason = (reason or "").strip()
    problems: list[FieldProblem] = []
    if kind not in ("pin", "exclude"):
        problems.append(
            FieldProblem(("kind",), "unknown_kind", "Kies 'pin' (vastzetten) of 'exclude' (uitsluiten).")
        )
    if not 5 <= len(reason) <= 500:
        problems.append(
            FieldProblem(
                ("reason",), "reason_length", "Geef een reden van 5 tot 500 tekens (komt op de tijdlijn)."
            )
        )
    if case.status not in OPEN_STATUSES or not case.eligible:
        problems.append(
            FieldProblem(
                ("case",),
                "case_not_convening",
                "Dit dossier wordt niet (meer) samengesteld; niets gewijzigd.",
            )
        )
    expert = session.get(Expert, expert_id)
    if expert is None:
        problems.append(FieldProblem(("expert_id",), "unknown_expert", f"Expert {expert_id} bestaat niet."))
    elif not expert.active:
        problems.append(
            FieldProblem(("expert_id",), "inactive_expert", f"Expert {expert_id} is niet actief.")
        )
    if problems:
        raise ValidationFailed(problems)
    assert expert is not None
    active = session.scalars(
        select(CaseExpertDirective).where(
            CaseExpertDirective.case_id == case.id, CaseExpertDirective.revoked_at.is_(None)
        )
    ).all()
    same = [d for d in active if d.expert_id == expert_id]
    if any(d.kind == kind for d in same):
        raise _problem("expert_id", "duplicate_directive", "Deze expert is al zo ingesteld voor dit dossier.")
    if same:
        raise _problem(
            "expert_id",
            "pin_and_exclude",
            "Deze expert is al "
            + ("vastgezet" if same[0].kind == "pin" else "uitgesloten")
            + "; trek dat eerst in. Vastzetten en uitsluiten tegelijk kan niet.",
        )
    if kind == "pin":
        if expert.agency_id == case.registrant_agency_id:
            raise _problem(
                "expert_id",
                "pin_registrant_agency",
                "Een expert van de organisatie van de aanmelder kan niet aan tafel als poolexpert.",
            )
        pins = [d for d in active if d.kind == "pin"]
        if len(pins) >= 2:
            raise _problem("expert_id", "too_many_pins", "Er zijn al twee experts vastgezet (het maximum).")
        if pins and session.get_one(Expert, pins[0].expert_id).agency_id == expert.agency_id:
            raise _problem(
                "expert_id",
                "pins_same_agency",
                "De twee experts moeten van verschillende organisaties komen.",
            )
    directive = CaseExpertDirective(
        case_id=case.id, expert_id=expert_id, kind=kind, reason=reason, actor=actor, created_at=now
    )
    session.add(directive)
    session.flush()
    label = f"Expert ({expert.agency.name})"
    verb = "vastgezet: deze expert moet aan tafel" if kind == "pin" else "uitgesloten voor dit dossier"
    timeline.record(
        session,
        case,
        "expert_pinned" if kind == "pin" else "expert_excluded",
        f"{label} {verb}; reden: {reason}",
        data={"directive_id": directive.id, "expert_id": expert_id},
        actor=actor,
        at=now,
    )
    return _view(session, directive)


def revoke_directive(
    session: Session, case: Case, directive_id: int, *, actor: str, now: datetime
) -> DirectiveView:
    directive = session.get(CaseExpertDirective, directive_id)
    if directive is None or directive.case_id != case.id:
        raise NotFound(f"directive {directive_id}")
    if directive.revoked_at is None:
        directive.revoked_at = now
        expert = session.get_one(Expert, directive.expert_id)
        what = "vastzetten" if directive.kind == "pin" else "uitsluiten"
        timeline.record(
            session,
            case,
            "expert_directive_revoked",
            f"Het {what} van Expert ({expert.agency.name}) is ingetrokken.",
            data={"directive_id": directive.id, "expert_id": directive.expert_id},
            actor=actor,
            at=now,
        )
    return _view(session, directive)
