"""Reason codes: machine-readable, explained in German and English.

``use`` says who gives the code: ``coordinator`` (reject, revoke, change decisions) or ``system`` (what
the service records by itself: deemed approvals (and withheld ones), lapsed proposals, emergency displacements and
extensions).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ReasonCode:
    code: str
    de: str
    en: str
    use: str = "coordinator"


REASON_CODES: tuple[ReasonCode, ...] = (
    ReasonCode("conflicts_with_approved_site", "Konflikt mit einer bereits genehmigten Baustelle",
               "Conflicts with a site that is already approved"),
    ReasonCode("inside_moratorium", "Liegt in einer Aufbruchsperre (Moratorium)",
               "Inside a moratorium (newly surfaced road)"),
    ReasonCode("inside_blackout", "Liegt in einer Sperrzeit (z. B. Großveranstaltung, Weihnachtsmarkt)",
               "Inside a blackout period (e.g. a major event, Christmas market)"),
    ReasonCode("incomplete_information", "Angaben unvollständig", "Information incomplete"),
    ReasonCode("zone_capacity_exhausted", "Kapazität der Verkehrszone ausgeschöpft",
               "Capacity of the traffic zone exhausted"),
    ReasonCode("outside_window", "Kein Zeitfenster innerhalb des beantragten Zeitraums",
               "No slot inside the requested window"),
    ReasonCode("other", "Sonstiger Grund (siehe Begründung)", "Other reason (see the explanation)"),
    ReasonCode("deemed_approved", "Als genehmigt geltend: Frist der Koordinierungsstelle verstrichen",
               "Deemed approved: the coordination office did not answer in time", use="system"),
    ReasonCode("deemed_approval_withheld",
               "Nicht als genehmigt geltend: der Vorschlag kollidiert mit genehmigten oder festgelegten Terminen, "
               "liegt in einer Sperrzeit oder einem Aufbruchverbot oder verletzt eine Reihenfolge; die "
               "Koordinierungsstelle entscheidet",
               "Not deemed approved: the proposal clashes with approved or locked slots, lies in a blackout or "
               "moratorium or breaks a precedence; the coordination office decides", use="system"),
    ReasonCode("proposal_lapsed", "Vorschlag verfallen: keine Antwort des Antragstellers innerhalb der Frist",
               "Proposal lapsed: the owner did not answer in time", use="system"),
    ReasonCode("emergency_displacement", "Verschoben wegen einer Notfallbaustelle",
               "Moved because of an emergency site", use="system"),
    ReasonCode("emergency_cancelled", "Die Notfallbaustelle wurde storniert: der frühere Termin gilt wieder",
               "The emergency site was cancelled: the earlier dates hold again", use="system"),
    ReasonCode("emergency_extension",
               "Notfall: Änderung der Termine sofort wirksam; die Koordinierungsstelle prüft nachträglich",
               "Emergency: the change of dates is in effect at once; the coordination office reviews it afterwards",
               use="system"),
)

BY_CODE = {r.code: r for r in REASON_CODES}
COORDINATOR_CODES = tuple(r.code for r in REASON_CODES if r.use == "coordinator")
