// Labels of the page: German first, English second. t(key) looks up the current language.

export const LABELS = {
  de: {
    title: "Baustellenkarte Ruhr",
    subtitle: "Koordinierung von Baustellen und Zeitfenstern",
    lang: "English",
    key_login: "API-Schlüssel",
    key_logout: "Abmelden",
    key_prompt: "API-Schlüssel Ihrer Organisation (bst_…). Er bleibt nur in diesem Browser-Tab gespeichert.",
    key_invalid: "Der Schlüssel ist ungültig oder widerrufen.",
    public_view: "Öffentliche Ansicht",
    plan_run: "Planungslauf starten",
    plan_started: "Planungslauf gestartet",
    plan_confirm: "Planungslauf für den sichtbaren Kartenausschnitt und den Zeitraum {from} bis {to} starten?",
    plan_status: "Planungslauf {id}: {status} ({progress} %)",
    filters: "Filter",
    owner: "Träger",
    all_owners: "Alle Träger",
    kind: "Art der Arbeiten",
    status: "Status",
    impact: "Verkehrseinschränkung",
    conflict_kinds: "Konfliktarten",
    layers: "Ebenen",
    day: "Stichtag",
    all_days: "Alle Zeiträume",
    play: "Abspielen",
    pause: "Anhalten",
    list: "Baustellen im Ausschnitt",
    none_in_view: "Keine Baustellen im Ausschnitt für diesen Tag und diese Filter.",
    details: "Details",
    close: "Schließen",
    window: "Beantragtes Zeitfenster",
    duration: "Dauer",
    days: "Tage",
    slot: "Zeitfenster (Slot)",
    no_slot: "Noch kein Slot vergeben",
    explanation: "Begründung des Planers",
    conflicts: "Konflikte",
    no_conflicts: "Keine Konflikte bekannt.",
    history: "Verlauf",
    no_history: "Kein Verlauf verfügbar.",
    contact: "Ansprechpartner",
    contact_hidden: "Kontaktdaten nur für den Träger und die Koordinierungsstelle.",
    description: "Beschreibung",
    modes: "Betroffene Verkehrsarten",
    shift: "Arbeitszeit",
    urgency: "Dringlichkeit",
    routes: "Umleitungen",
    actions: "Aktionen",
    approve: "Genehmigen",
    reject: "Ablehnen",
    lock: "Slot fixieren",
    reject_reason: "Ablehnungsgrund",
    reject_text: "Begründung",
    send: "Absenden",
    cancel: "Abbrechen",
    approved_ok: "Genehmigt.",
    rejected_ok: "Abgelehnt.",
    locked_ok: "Slot fixiert.",
    override_confirm: "Die Baustelle hat Konflikte: {detail}\nTrotzdem genehmigen?",
    error: "Fehler",
    timeline: "Zeitplan",
    timeline_of: "Zeitplan: {name}",
    timeline_hint: "Klicken Sie auf eine Zone oder einen Korridor, um den Zeitplan der Baustellen darin zu sehen.",
    no_sites_here: "Keine Baustellen in diesem Bereich.",
    legend: "Legende",
    region_blackout: "Regionsweite Sperrzeit aktiv: {name}",
    with: "mit",
    distance: "Abstand",
    overlap: "Überschneidung",
    loading: "Lädt …",
    count_sites: "{n} Baustellen",
    sites: "Baustellen",
    l_sites: "Baustellen",
    l_routes: "Umleitungen und SEV",
    l_conflicts: "Konflikte",
    l_opportunities: "Dig-once-Gelegenheiten",
    l_zones: "Zonen",
    l_corridors: "Korridore",
    l_moratoriums: "Aufbruchsperren",
    l_blackouts: "Sperrzeiten",
    diversion: "Umleitung",
    replacement: "Schienenersatzverkehr",
    capacity: "Kapazität",
    from_to: "{a} – {b}",
  },
  en: {
    title: "Ruhr construction site map",
    subtitle: "Coordination of sites and time slots",
    lang: "Deutsch",
    key_login: "API key",
    key_logout: "Sign out",
    key_prompt: "Your organisation's API key (bst_…). It is kept only in this browser tab.",
    key_invalid: "The key is unknown or revoked.",
    public_view: "Public view",
    plan_run: "Start plan run",
    plan_started: "Plan run started",
    plan_confirm: "Start a plan run for the visible map area and the period {from} to {to}?",
    plan_status: "Plan run {id}: {status} ({progress} %)",
    filters: "Filters",
    owner: "Owner",
    all_owners: "All owners",
    kind: "Kind of work",
    status: "Status",
    impact: "Traffic impact",
    conflict_kinds: "Conflict kinds",
    layers: "Layers",
    day: "Day",
    all_days: "All periods",
    play: "Play",
    pause: "Pause",
    list: "Sites in view",
    none_in_view: "No sites in view for this day and these filters.",
    details: "Details",
    close: "Close",
    window: "Requested window",
    duration: "Duration",
    days: "days",
    slot: "Slot",
    no_slot: "No slot assigned yet",
    explanation: "Planner's explanation",
    conflicts: "Conflicts",
    no_conflicts: "No known conflicts.",
    history: "History",
    no_history: "No history available.",
    contact: "Contact",
    contact_hidden: "Contact details only for the owner and the coordination office.",
    description: "Description",
    modes: "Affected modes",
    shift: "Shift",
    urgency: "Urgency",
    routes: "Diversions",
    actions: "Actions",
    approve: "Approve",
    reject: "Reject",
    lock: "Lock slot",
    reject_reason: "Reason",
    reject_text: "Explanation",
    send: "Send",
    cancel: "Cancel",
    approved_ok: "Approved.",
    rejected_ok: "Rejected.",
    locked_ok: "Slot locked.",
    override_confirm: "The site has conflicts: {detail}\nApprove anyway?",
    error: "Error",
    timeline: "Timeline",
    timeline_of: "Timeline: {name}",
    timeline_hint: "Click a zone or a corridor to see the timeline of its sites.",
    no_sites_here: "No sites in this area.",
    legend: "Legend",
    region_blackout: "Region-wide blackout active: {name}",
    with: "with",
    distance: "Distance",
    overlap: "Overlap",
    loading: "Loading …",
    count_sites: "{n} sites",
    sites: "Sites",
    l_sites: "Sites",
    l_routes: "Diversions and rail replacement",
    l_conflicts: "Conflicts",
    l_opportunities: "Dig-once opportunities",
    l_zones: "Zones",
    l_corridors: "Corridors",
    l_moratoriums: "Moratoriums",
    l_blackouts: "Blackouts",
    diversion: "Diversion",
    replacement: "Rail replacement bus",
    capacity: "Capacity",
    from_to: "{a} – {b}",
  },
};

export const VALUES = {
  de: {
    status: {
      draft: "Entwurf", submitted: "Beantragt", slot_proposed: "Slot vorgeschlagen", accepted: "Angenommen",
      contested: "Widersprochen", approved: "Genehmigt", rejected: "Abgelehnt", active: "In Ausführung",
      completed: "Abgeschlossen", withdrawn: "Zurückgezogen",
    },
    slot_status: { proposed: "vorgeschlagen", locked: "fixiert", approved: "genehmigt", unplaced: "nicht platzierbar" },
    plan_status: { queued: "wartet", running: "läuft", done: "fertig", failed: "fehlgeschlagen" },
    impact: {
      none: "Keine", footway: "Gehweg", lane_reduction: "Fahrstreifenreduzierung", one_way: "Einbahnregelung",
      full_closure: "Vollsperrung",
    },
    kind: {
      gas: "Gas", water: "Wasser", sewer: "Kanal", district_heating: "Fernwärme", power: "Strom",
      telecom: "Telekommunikation", road_maintenance: "Straßenerhaltung", road_construction: "Straßenbau",
      tram_track: "Straßenbahngleise", rail: "Eisenbahn", bridge: "Brücke", building: "Hochbau",
      event: "Veranstaltung", other: "Sonstiges",
    },
    conflict: {
      space: "Räumlich", diversion: "Umleitung", corridor: "Korridor", zone: "Zonenkapazität",
      moratorium: "Aufbruchsperre", blackout: "Sperrzeit", same_owner: "Gleicher Träger (Info)",
    },
    modes: { pedestrian: "Fußverkehr", cycle: "Radverkehr", car: "Kfz", transit: "ÖPNV", rail: "Bahn" },
    shift: { continuous: "durchgehend", day: "tagsüber", night: "nachts" },
    urgency: { planned: "geplant", urgent: "dringend", emergency: "Notfall" },
  },
  en: {
    status: {
      draft: "Draft", submitted: "Submitted", slot_proposed: "Slot proposed", accepted: "Accepted",
      contested: "Contested", approved: "Approved", rejected: "Rejected", active: "Active",
      completed: "Completed", withdrawn: "Withdrawn",
    },
    slot_status: { proposed: "proposed", locked: "locked", approved: "approved", unplaced: "unplaced" },
    plan_status: { queued: "queued", running: "running", done: "done", failed: "failed" },
    impact: {
      none: "None", footway: "Footway", lane_reduction: "Lane reduction", one_way: "One way",
      full_closure: "Full closure",
    },
    kind: {
      gas: "Gas", water: "Water", sewer: "Sewer", district_heating: "District heating", power: "Power",
      telecom: "Telecom", road_maintenance: "Road maintenance", road_construction: "Road construction",
      tram_track: "Tram track", rail: "Rail", bridge: "Bridge", building: "Building", event: "Event",
      other: "Other",
    },
    conflict: {
      space: "Space", diversion: "Diversion", corridor: "Corridor", zone: "Zone capacity",
      moratorium: "Moratorium", blackout: "Blackout", same_owner: "Same owner (info)",
    },
    modes: { pedestrian: "Pedestrians", cycle: "Cycling", car: "Cars", transit: "Transit", rail: "Rail" },
    shift: { continuous: "continuous", day: "day", night: "night" },
    urgency: { planned: "planned", urgent: "urgent", emergency: "emergency" },
  },
};

let current = "de";

export function setLanguage(lang) {
  current = LABELS[lang] ? lang : "de";
  try { localStorage.setItem("bst-lang", current); } catch { /* private mode */ }
  document.documentElement.lang = current;
}

export function language() {
  return current;
}

export function initialLanguage() {
  const asked = new URLSearchParams(location.search).get("lang");
  let saved = null;
  try { saved = localStorage.getItem("bst-lang"); } catch { /* private mode */ }
  return LABELS[asked] ? asked : LABELS[saved] ? saved : "de";
}

export function t(key, vars = {}) {
  let text = LABELS[current][key] ?? LABELS.de[key] ?? key;
  for (const [k, v] of Object.entries(vars)) text = text.replaceAll(`{${k}}`, String(v));
  return text;
}

export function v(group, value) {
  if (value == null) return "–";
  return VALUES[current][group]?.[value] ?? value;
}

export function formatDate(iso) {
  if (!iso) return "–";
  const [y, m, d] = iso.slice(0, 10).split("-");
  return current === "de" ? `${d}.${m}.${y}` : `${y}-${m}-${d}`;
}
