"""The transition table: the single source of truth for what may happen to a request, by whom, and which
outbox event it emits. Endpoints, the 409 ``allowed`` list, jobs and docs all read it.

``who`` is ``owner`` (the organisation that submitted the request), ``coordinator`` (role coordinator or
admin), ``owner or coordinator`` (either may) or ``system`` (deadline jobs, emergencies; never reachable over the
API). ``urgency``, when set, limits a transition to requests of that urgency (``cancel``: emergencies only).
"""

from __future__ import annotations

from dataclasses import dataclass

from service.requests.models import Status

S = Status


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[str]
    target: str
    who: str
    event: str
    doc: str
    urgency: str | None = None

    @property
    def roles(self) -> frozenset[str]:
        """The roles that may take this step (``who``, split at "or")."""
        return frozenset(self.who.split(" or "))

    def applies(self, urgency: str | None) -> bool:
        return self.urgency is None or self.urgency == urgency


def _t(action: str, sources: set[Status], target: Status, who: str, event: str, doc: str,
       urgency: str | None = None) -> Transition:
    return Transition(action, frozenset(s.value for s in sources), target.value, who, event, doc, urgency)


UNDECIDED = {S.submitted, S.slot_proposed, S.accepted, S.contested}

TRANSITIONS: dict[str, Transition] = {t.action: t for t in (
    _t("submit", {S.draft}, S.submitted, "owner", "request.submitted", "send a draft to the coordination office"),
    _t("propose", UNDECIDED, S.slot_proposed, "coordinator", "slot.proposed",
       "propose a slot (coordinator by hand, or the planner)"),
    _t("accept", {S.slot_proposed}, S.accepted, "owner", "request.accepted", "accept the proposed slot"),
    _t("contest", {S.slot_proposed}, S.contested, "owner", "request.contested",
       "contest the proposed slot, with a reason and optionally a counter-proposal window"),
    _t("approve", UNDECIDED, S.approved, "coordinator", "request.approved", "approve the proposed slot"),
    _t("reject", UNDECIDED, S.rejected, "coordinator", "request.rejected", "reject, with a reason code"),
    _t("start", {S.approved}, S.active, "owner", "request.started",
       "report the site set up (only inside the approved slot)"),
    _t("complete", {S.active}, S.completed, "owner", "request.completed", "report the works finished"),
    _t("withdraw", {S.draft, *UNDECIDED, S.approved, S.rejected}, S.withdrawn, "owner", "request.withdrawn",
       "withdraw the request (any time before it is active)"),
    _t("revoke", {S.approved}, S.submitted, "coordinator", "approval.revoked",
       "revoke an approval, with a reason; the request goes back to the coordinator's queue"),
    _t("cancel", {S.active}, S.withdrawn, "owner or coordinator", "request.withdrawn",
       "cancel an active emergency reported by mistake (wrong street, a duplicate), with a reason: its slot is "
       "freed, the sites it displaced are placed again, subscribers and feeds are told it is cancelled",
       urgency="emergency"),
    # System transitions: deadline jobs and emergencies.
    _t("deem_approve", {S.submitted, S.accepted}, S.approved, "system", "request.deemed_approved",
       "the coordinator's deadline passed: the proposal is deemed approved"),
    _t("lapse", {S.slot_proposed}, S.submitted, "system", "proposal.lapsed",
       "the owner's deadline passed: the proposal lapses back to the coordinator's queue"),
    _t("emergency", UNDECIDED, S.active, "system", "request.emergency",
       "an emergency is active at once, with an approved slot from today"),
    _t("displace", UNDECIDED | {S.approved}, S.slot_proposed, "system", "slot.displaced",
       "an emergency took the slot: a new slot is proposed"),
    _t("unplace", {S.slot_proposed, S.contested}, S.submitted, "system", "slot.unplaced",
       "a plan run found no slot for the proposal any more: back to the coordinator's queue"),
    _t("displace_unplaced", UNDECIDED | {S.approved}, S.submitted, "system", "slot.displaced",
       "an emergency took the slot and no other fits the window: back to the coordinator's queue"),
    _t("restore", UNDECIDED, S.slot_proposed, "system", "slot.displaced",
       "the emergency that displaced the slot was cancelled: the dates it took are proposed again"),
)}

API_ACTIONS = ("submit", "accept", "contest", "approve", "reject", "start", "complete", "withdraw", "revoke",
               "cancel")


def roles_of(*, is_owner: bool, is_coordinator: bool) -> set[str]:
    roles = set()
    if is_owner:
        roles.add("owner")
    if is_coordinator:
        roles.add("coordinator")
    return roles


def allowed_actions(status: str, roles: set[str], urgency: str | None = None) -> list[str]:
    """The API actions the caller (with ``roles``) may take from ``status`` on a request of ``urgency``, in table
    order (a transition limited to an urgency is left out when ``urgency`` is not given)."""
    return [t.action for t in TRANSITIONS.values()
            if t.roles & roles and status in t.sources and t.applies(urgency)]


def event_kinds() -> list[str]:
    return sorted({t.event for t in TRANSITIONS.values()})
