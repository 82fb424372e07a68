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
    key_title: "Anmelden mit dem API-Schlüssel",
    key_label: "API-Schlüssel",
    key_sign_in: "Anmelden",
    public_view: "Öffentliche Ansicht",
    plan_run: "Planungslauf starten",
    plan_started: "Planungslauf gestartet",
    plan_start: "Starten",
    plan_confirm: "Planungslauf für den sichtbaren Kartenausschnitt und den Zeitraum {from} bis {to} starten?",
    plan_status: "Planungslauf {id}: {status} ({progress} %)",
    plan_done: "Planungslauf {id}: fertig – {placed} platziert, {unplaced} nicht platzierbar, {skipped} ausgelassen",
    plan_skipped: "Ausgelassen: {reasons}",
    plan_failed: "Planungslauf {id}: fehlgeschlagen{error}",
    plan_nothing: "Im sichtbaren Kartenausschnitt gibt es keinen Antrag, dessen Zeitfenster noch offen ist; geplant wird der Zeitraum des Schiebereglers.",
    counter_proposal: "Gegenvorschlag",
    counter_met: "vom Planungslauf eingehalten",
    counter_unmet: "vom Planungslauf nicht eingehalten – der Slot liegt im ursprünglichen Zeitfenster",
    counter_unplaced: "auch darin kein Slot gefunden",
    counter_pending: "Der Träger hat dem Slot widersprochen und schlägt {a} – {b} vor. „Genehmigen“ genehmigt den bisher vorgeschlagenen Slot; für den Gegenvorschlag einen Slot darin vorschlagen.",
    api_detail: "Technische Angabe der API",
    filters: "Filter",
    owner: "Träger",
    all_owners: "Alle Träger",
    kind: "Art der Arbeiten",
    status: "Status",
    impact: "Verkehrseinschränkung",
    conflict_kinds: "Konfliktarten",
    layers: "Ebenen",
    day: "Stichtag",
    day_slider: "Stichtag (Schieberegler)",
    date_placeholder: "TT.MM.JJJJ",
    date_hint: "Datum im Format TT.MM.JJJJ, z. B. 01.04.2027",
    date_invalid: "„{text}“ ist kein gültiges Datum. Bitte im Format TT.MM.JJJJ eingeben, z. B. 01.04.2027.",
    day_out_of_range: "Der Stichtag muss zwischen {a} und {b} liegen.",
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
    conflicts_with: "Konflikt mit {sites}",
    no_conflicts: "Keine Konflikte bekannt.",
    history: "Verlauf",
    no_history: "Kein Verlauf verfügbar.",
    history_status: "Status",
    history_slot: "Termin",
    history_no_slot: "kein Termin",
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
    unlock: "Fixierung aufheben",
    propose_at: "Slot vorschlagen mit Beginn am",
    propose: "Vorschlagen",
    propose_hint: "Möglicher Beginn: {a} bis {b} (Dauer {n} Tage)",
    propose_needs_date: "Bitte wählen Sie ein Datum für den Beginn.",
    reject_reason: "Ablehnungsgrund",
    reject_text: "Begründung",
    send: "Absenden",
    cancel: "Abbrechen",
    approved_ok: "Genehmigt.",
    approved_despite_clash: "Trotz Überschneidung mit genehmigten oder fixierten Slots genehmigt: {sites}.",
    rejected_ok: "Abgelehnt.",
    cancel_emergency: "Notfall stornieren",
    cancel_note: "Für einen irrtümlich gemeldeten Notfall (falsche Straße, doppelt gemeldet): Er wird zurückgezogen, sein Slot frei, und die Baustellen, die er verdrängt hat, erhalten ihre früheren Termine zurück, wo diese noch frei sind.",
    cancel_reason_needed: "Bitte begründen Sie die Stornierung im Textfeld (z. B. falsche Straße, doppelt gemeldet).",
    cancelled_ok: "Notfall storniert.",
    locked_ok: "Slot fixiert.",
    unlocked_ok: "Fixierung aufgehoben; der nächste Planungslauf darf den Slot verschieben.",
    proposed_ok: "Slot vorgeschlagen: {a} – {b}.",
    warnings: "Hinweise",
    override_title: "Trotzdem genehmigen?",
    override_ok: "Trotzdem genehmigen",
    error: "Fehler",
    timeline: "Zeitplan",
    timeline_of: "Zeitplan: {name}",
    timeline_hint: "Klicken Sie auf eine Zone oder einen Korridor, um den Zeitplan der Baustellen darin zu sehen.",
    no_sites_here: "Keine Baustellen in diesem Bereich.",
    timelines: "Zeitpläne der Zonen und Korridore",
    no_rules: "Keine Zonen oder Korridore.",
    rule_zone: "Zone",
    rule_corridor: "Korridor",
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
    unplaced: "Nicht platzierbar",
    unplaced_slot: "nicht platzierbar – kein Slot gefunden",
    unplaced_why: "Warum nicht platzierbar",
    unplaced_hint: "Der Planungslauf hat im beantragten Zeitfenster keinen freien Slot gefunden.",
    blocked_by: "Blockiert durch",
    window_short: "Zeitfenster",
    show_unplaced: "Nicht platzierbare Anträge",
    approve_needs_slot: "Genehmigen ist erst mit einem Slot möglich.",
    reject_text_needed: "Bitte begründen Sie „Sonstiger Grund“ im Textfeld.",
    load_failed: "Daten konnten nicht vollständig geladen werden: {names}. Die Karte ist unvollständig – fehlende Konflikte bedeuten nicht, dass es keine gibt.",
    conflicts_unknown: "Die Konflikte konnten nicht geladen werden; ob es welche gibt, ist unbekannt.",
    allowed_now: "Jetzt möglich",
    api_says: "API",
    status_colours: "Statusfarben (Rand)",
    conflict_halo: "Baustelle mit Konflikt",
    conflict_partner: "Konfliktpartner außerhalb der Filter",
    site_marker: "Herausgezoomt: jede Baustelle als Punkt",
    conflict_marker: "Herausgezoomt: Konflikt zwischen zwei Baustellen",
    filters_toggle: "Filter ein-/ausblenden",
    sidebar_label: "Filter und Baustellenliste",
    map_label: "Karte",
    map_description: "Die Baustellen im Kartenausschnitt stehen mit Zeitraum, Status, Verkehrseinschränkung und Konflikten in der Liste „Baustellen im Ausschnitt“. Auf der Karte: Pfeiltasten verschieben, Plus und Minus zoomen.",
    zoom_in: "Hineinzoomen",
    zoom_out: "Herauszoomen",
    reset_bearing: "Nach Norden ausrichten",
    toggle_attribution: "Quellenangaben ein-/ausblenden",
    map_feedback: "Feedback zur Karte",
    link_unknown: "Die verlinkte Baustelle ist unbekannt oder nicht öffentlich. Entwürfe sieht nur die eigene Organisation: bitte mit dem API-Schlüssel anmelden.",
    link_hidden: "Die verlinkte Baustelle ist unbekannt oder für Ihre Organisation nicht sichtbar.",
  },
  en: {
    title: "Ruhr construction site map",
    subtitle: "Coordination of sites and time slots",
    lang: "Deutsch",
    key_login: "API key",
    key_logout: "Sign out",
    key_prompt: "Your organisation's API key (bst_…). It is kept only in this browser tab.",
    key_invalid: "The key is unknown or revoked.",
    key_title: "Sign in with the API key",
    key_label: "API key",
    key_sign_in: "Sign in",
    public_view: "Public view",
    plan_run: "Start plan run",
    plan_started: "Plan run started",
    plan_start: "Start",
    plan_confirm: "Start a plan run for the visible map area and the period {from} to {to}?",
    plan_status: "Plan run {id}: {status} ({progress} %)",
    plan_done: "Plan run {id}: done – {placed} placed, {unplaced} unplaced, {skipped} skipped",
    plan_skipped: "Skipped: {reasons}",
    plan_failed: "Plan run {id}: failed{error}",
    plan_nothing: "No request in the visible map area has a window still open; the slider's period is planned.",
    counter_proposal: "Counter-proposal",
    counter_met: "met by the plan run",
    counter_unmet: "not met by the plan run – the slot lies in the original window",
    counter_unplaced: "no slot found in it either",
    counter_pending: "The owner contested the slot and proposes {a} – {b}. “Approve” approves the slot proposed so far; to grant the counter-proposal, propose a slot in it.",
    api_detail: "Technical detail from the API",
    filters: "Filters",
    owner: "Owner",
    all_owners: "All owners",
    kind: "Kind of work",
    status: "Status",
    impact: "Traffic impact",
    conflict_kinds: "Conflict kinds",
    layers: "Layers",
    day: "Day",
    day_slider: "Day (slider)",
    date_placeholder: "YYYY-MM-DD",
    date_hint: "Date as YYYY-MM-DD or DD.MM.YYYY, e.g. 2027-04-01",
    date_invalid: "“{text}” is not a valid date. Please enter it as YYYY-MM-DD or DD.MM.YYYY, e.g. 2027-04-01.",
    day_out_of_range: "The day must lie between {a} and {b}.",
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
    conflicts_with: "Conflict with {sites}",
    no_conflicts: "No known conflicts.",
    history: "History",
    no_history: "No history available.",
    history_status: "Status",
    history_slot: "Slot",
    history_no_slot: "no slot",
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
    unlock: "Unlock slot",
    propose_at: "Propose a slot starting on",
    propose: "Propose",
    propose_hint: "Possible start: {a} to {b} (lasting {n} days)",
    propose_needs_date: "Please choose a start date.",
    reject_reason: "Reason",
    reject_text: "Explanation",
    send: "Send",
    cancel: "Cancel",
    approved_ok: "Approved.",
    approved_despite_clash: "Approved despite overlapping approved or locked slots: {sites}.",
    rejected_ok: "Rejected.",
    cancel_emergency: "Cancel emergency",
    cancel_note: "For an emergency reported by mistake (wrong street, reported twice): it is withdrawn, its slot freed, and the sites it displaced get their earlier dates back where these are still free.",
    cancel_reason_needed: "Please say in the text field why the emergency is cancelled (e.g. wrong street, reported twice).",
    cancelled_ok: "Emergency cancelled.",
    locked_ok: "Slot locked.",
    unlocked_ok: "Slot unlocked; the next plan run may move it.",
    proposed_ok: "Slot proposed: {a} – {b}.",
    warnings: "Notes",
    override_title: "Approve anyway?",
    override_ok: "Approve anyway",
    error: "Error",
    timeline: "Timeline",
    timeline_of: "Timeline: {name}",
    timeline_hint: "Click a zone or a corridor to see the timeline of its sites.",
    no_sites_here: "No sites in this area.",
    timelines: "Timelines of the zones and corridors",
    no_rules: "No zones or corridors.",
    rule_zone: "zone",
    rule_corridor: "corridor",
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
    unplaced: "Unplaced",
    unplaced_slot: "unplaced – no slot found",
    unplaced_why: "Why unplaced",
    unplaced_hint: "The plan run found no free slot in the requested window.",
    blocked_by: "Blocked by",
    window_short: "Window",
    show_unplaced: "Unplaced requests",
    approve_needs_slot: "Approval needs a slot first.",
    reject_text_needed: "Please explain “Other reason” in the text field.",
    load_failed: "Data could not be loaded completely: {names}. The map is incomplete – missing conflicts do not mean there are none.",
    conflicts_unknown: "The conflicts could not be loaded; whether there are any is unknown.",
    allowed_now: "Possible now",
    api_says: "API",
    status_colours: "Status colours (casing)",
    conflict_halo: "Site with a conflict",
    conflict_partner: "Conflict partner outside the filters",
    site_marker: "Zoomed out: every site as a dot",
    conflict_marker: "Zoomed out: conflict between two sites",
    filters_toggle: "Show/hide filters",
    sidebar_label: "Filters and list of sites",
    map_label: "Map",
    map_description: "The sites in the map view are listed with their dates, status, traffic impact and conflicts in the list “Sites in view”. On the map: arrow keys pan, plus and minus zoom.",
    zoom_in: "Zoom in",
    zoom_out: "Zoom out",
    reset_bearing: "Reset bearing to north",
    toggle_attribution: "Toggle attribution",
    map_feedback: "Map feedback",
    link_unknown: "The linked site is unknown or not public. Drafts are visible to their own organisation only: please sign in with the API key.",
    link_hidden: "The linked site is unknown or not visible to your organisation.",
  },
};

// The blackouts and moratoriums a `rule-conflict` answer names (`rule_conflicts`), each in quotes.
function ruleNames(data, open, close) {
  const names = [...new Set((data?.rule_conflicts || []).map((r) => r.name))];
  return names.map((n) => `${open}${n}${close}`).join(", ") || "–";
}

const CLASH_WORDS = {
  de: { open: "„", close: "“", slot: "Slot", overlap: "Überschneidung", full: "Kapazität von {rule} ausgeschöpft ab {day}" },
  en: { open: "“", close: "”", slot: "slot", overlap: "overlap", full: "capacity of {rule} reached from {day}" },
};

// The sites a `slot-conflict` answer names (`conflicts`: one entry per site and rule, with the other site's title
// and slot), each once: its title, its slot, the days it overlaps the slot asked for (`context.slot`, if known)
// and the zone or corridor whose capacity the slots fill.
function clashList(data, context, lang) {
  const w = CLASH_WORDS[lang];
  const q = (s) => `${w.open}${s}${w.close}`;
  const sites = new Map();
  for (const c of data?.conflicts || []) {
    const key = c.request_id || c.title;
    if (!sites.has(key)) sites.set(key, { ...c, rules: [] });
    if (c.rule_name) sites.get(key).rules.push(c);
  }
  const own = context?.slot;
  const parts = [...sites.values()].map((c) => {
    const facts = [];
    if (c.start && c.end) facts.push(`${w.slot} ${formatDate(c.start)} – ${formatDate(c.end)}`);
    if (own?.start && own?.end && c.start && c.end) {
      const a = own.start > c.start ? own.start : c.start, b = own.end < c.end ? own.end : c.end;
      if (a <= b) facts.push(`${w.overlap} ${formatDate(a)} – ${formatDate(b)}`);
    }
    for (const r of c.rules) facts.push(w.full.replace("{rule}", q(r.rule_name)).replace("{day}", formatDate(r.full_from)));
    return `${q(c.title || c.request_id)}${facts.length ? ` (${facts.join("; ")})` : ""}`;
  });
  return parts.join(", ");
}

// The sentences ({de, en}) of the precedences a `precedence` (or `slot-conflict`) answer names, in the page's language.
function precedenceSentences(data, lang) {
  return (data?.precedences || []).map((p) => p?.[lang] || p?.de).filter(Boolean).join(" ");
}

function withExtras(sentence, data, lang, { rules = true, order = true } = {}) {
  const extra = [];
  if (rules && data?.rule_conflicts?.length) {
    extra.push(lang === "de" ? `Außerdem liegt er in einer Sperrzeit oder einem Aufbruchverbot: ${ruleNames(data, "„", "“")}.`
      : `It also lies in a blackout or moratorium: ${ruleNames(data, "“", "”")}.`);
  }
  if (order) { const p = precedenceSentences(data, lang); if (p) extra.push(p); }
  return [sentence, ...extra].join(" ");
}

// Problem answers of the API (type, type:field, HTTP status) as sentences of the page; the API's own detail
// (English, written for developers) is only secondary text below them. A function makes the sentence from the
// answer (the sites and rules it names) and what the page knows about the step (`context.slot`: the slot asked for).
export const PROBLEMS = {
  de: {
    types: {
      "no-slot": "Es gibt keinen Slot zum Genehmigen; zuerst muss ein Slot vorgeschlagen werden.",
      "slot-conflict": (d, c) => withExtras(d?.conflicts?.length
        ? `Der Slot kollidiert mit genehmigten oder fixierten Slots: ${clashList(d, c, "de")}.`
        : "Der Slot kollidiert mit genehmigten oder fixierten Slots.", d, "de"),
      "rule-conflict": (d) => withExtras(`Der Slot liegt in einer Sperrzeit oder einem Aufbruchverbot: ${ruleNames(d, "„", "“")}.`,
                                         d, "de", { rules: false }),
      precedence: (d) => withExtras("Der Slot verletzt die Reihenfolge mit einer Baustelle, deren Slot genehmigt oder fixiert ist.",
                                    d, "de", { rules: false }),
      "slot-passed": "Der Slot liegt in der Vergangenheit; bitte einen neuen vorschlagen.",
      "stale-etag": "Der Antrag wurde inzwischen geändert; bitte neu laden.",
      "illegal-transition": "Diese Aktion ist im aktuellen Status nicht möglich.",
      "invalid-input": "Die Eingabe ist ungültig.",
      forbidden: "Dafür fehlt Ihnen die Berechtigung.",
      unauthorized: "Bitte melden Sie sich mit einem gültigen API-Schlüssel an.",
      "not-found": "Nicht gefunden oder für Sie nicht sichtbar.",
      conflict: "Die Aktion steht im Widerspruch zum aktuellen Stand.",
    },
    fields: {
      "invalid-input:reason": "Bitte geben Sie eine Begründung an.",
      "invalid-input:start": "Dieser Beginn ist nicht möglich: Der Slot muss ganz im beantragten Zeitfenster liegen und darf nicht in der Vergangenheit beginnen.",
    },
    status: { 500: "Interner Fehler des Servers.", 503: "Der Dienst ist vorübergehend nicht erreichbar." },
  },
  en: {
    types: {
      "no-slot": "There is no slot to approve; a slot must be proposed first.",
      "slot-conflict": (d, c) => withExtras(d?.conflicts?.length
        ? `The slot conflicts with approved or locked slots: ${clashList(d, c, "en")}.`
        : "The slot conflicts with approved or locked slots.", d, "en"),
      "rule-conflict": (d) => withExtras(`The slot lies in a blackout or moratorium: ${ruleNames(d, "“", "”")}.`,
                                         d, "en", { rules: false }),
      precedence: (d) => withExtras("The slot breaks the order with a site whose slot is approved or locked.",
                                    d, "en", { rules: false }),
      "slot-passed": "The slot has passed; please propose a new one.",
      "stale-etag": "The request changed meanwhile; please reload.",
      "illegal-transition": "This action is not possible in the current status.",
      "invalid-input": "The input is not valid.",
      forbidden: "You are not allowed to do this.",
      unauthorized: "Please sign in with a valid API key.",
      "not-found": "Not found or not visible to you.",
      conflict: "The action contradicts the current state.",
    },
    fields: {
      "invalid-input:reason": "Please give a reason.",
      "invalid-input:start": "This start is not possible: the slot must lie wholly in the requested window and must not start in the past.",
    },
    status: { 500: "Internal server error.", 503: "The service is temporarily unavailable." },
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
    modes: { pedestrian: "Fußverkehr", cycle: "Radverkehr", car: "Kfz", tram: "Straßenbahn", bus: "Bus",
             transit: "ÖPNV (Bus und Straßenbahn)", rail: "Bahn" },
    // the hours of service/geo/rules.py SHIFT_HOURS, as notices and the DATEX II feed give them
    shift: { continuous: "durchgehend", day: "tagsüber, 07:00–20:00 Uhr", night: "nachts, 20:00–07:00 Uhr" },
    urgency: { planned: "geplant", urgent: "dringend", emergency: "Notfall" },
    verb: {
      submit: "Einreichen", propose: "Slot vorschlagen", accept: "Annehmen", contest: "Widersprechen",
      approve: "Genehmigen", reject: "Ablehnen", start: "Beginnen", complete: "Abschließen", withdraw: "Zurückziehen",
      revoke: "Genehmigung widerrufen", cancel: "Notfall stornieren",
    },
    role: { coordinator: "Koordinierungsstelle", admin: "Administration", submitter: "Antragsteller" },
    actor: { owner: "Träger", coordinator: "Koordinierungsstelle", system: "System", admin: "Administration",
             submitter: "Antragsteller" },
    action: {
      create: "Angelegt", update: "Geändert", submit: "Eingereicht", propose: "Slot vorgeschlagen",
      accept: "Slot angenommen", contest: "Slot widersprochen", approve: "Genehmigt", reject: "Abgelehnt",
      start: "Begonnen", complete: "Abgeschlossen", withdraw: "Zurückgezogen", revoke: "Genehmigung widerrufen",
      deem_approve: "Als genehmigt geltend (Frist)", lapse: "Vorschlag verfallen (Frist)", emergency: "Notfall",
      displace: "Slot verdrängt", displace_unplaced: "Slot verdrängt, nicht platzierbar", lock: "Slot fixiert",
      "slot.locked": "Slot fixiert", "slot.unlocked": "Fixierung aufgehoben", "slot.moved": "Slot verschoben",
      unplace: "Kein Slot mehr (Planungslauf)", cancel: "Notfall storniert",
      restore: "Früherer Termin wiederhergestellt (Notfall storniert)",
      "slot.placed": "Slot eingeplant", "change.requested": "Änderung beantragt",
      "change.approved": "Änderung genehmigt", "change.rejected": "Änderung abgelehnt",
      "deemed_approval.withheld": "Nicht als genehmigt geltend (Konflikt oder Reihenfolge)",
    },
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
    modes: { pedestrian: "Pedestrians", cycle: "Cycling", car: "Cars", tram: "Trams", bus: "Buses",
             transit: "Transit (buses and trams)", rail: "Rail" },
    shift: { continuous: "continuous", day: "daytime, 07:00–20:00", night: "at night, 20:00–07:00" },
    urgency: { planned: "planned", urgent: "urgent", emergency: "emergency" },
    verb: {
      submit: "Submit", propose: "Propose a slot", accept: "Accept", contest: "Contest", approve: "Approve",
      reject: "Reject", start: "Start", complete: "Complete", withdraw: "Withdraw", revoke: "Revoke approval",
      cancel: "Cancel emergency",
    },
    role: { coordinator: "coordination office", admin: "administration", submitter: "submitter" },
    actor: { owner: "owner", coordinator: "coordination office", system: "system", admin: "administration",
             submitter: "submitter" },
    action: {
      create: "Created", update: "Changed", submit: "Submitted", propose: "Slot proposed",
      accept: "Slot accepted", contest: "Slot contested", approve: "Approved", reject: "Rejected",
      start: "Started", complete: "Completed", withdraw: "Withdrawn", revoke: "Approval revoked",
      deem_approve: "Deemed approved (deadline)", lapse: "Proposal lapsed (deadline)", emergency: "Emergency",
      displace: "Slot displaced", displace_unplaced: "Slot displaced, unplaced", lock: "Slot locked",
      "slot.locked": "Slot locked", "slot.unlocked": "Slot unlocked", "slot.moved": "Slot moved",
      unplace: "No slot any more (plan run)", cancel: "Emergency cancelled",
      restore: "Earlier dates restored (emergency cancelled)",
      "slot.placed": "Slot placed", "change.requested": "Change requested",
      "change.approved": "Change approved", "change.rejected": "Change rejected",
      "deemed_approval.withheld": "Not deemed approved (conflict or precedence)",
    },
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

// Dates are shown in the page's language, never the browser's: German DD.MM.YYYY, English ISO YYYY-MM-DD (an
// English browser's MM/DD/YYYY would make 04/01/2027 the 1st of April to one reader and the 4th of January to
// another). Built from the ISO text, so neither the browser's locale nor its time zone can shift it.
export function formatDate(iso) {
  if (!iso) return "–";
  const [y, m, d] = iso.slice(0, 10).split("-");
  return current === "de" ? `${d}.${m}.${y}` : `${y}-${m}-${d}`;
}

// A date typed by hand, in either language: DD.MM.YYYY (also D.M.YYYY, spaces after the dots) or ISO YYYY-MM-DD.
// The ISO date, or null when the text is no day of the calendar (31.02.2027, 2027-13-01, 04/01/2027, "morgen").
export function parseDate(text) {
  const s = String(text ?? "").trim();
  let m = s.match(/^(\d{1,2})\.\s*(\d{1,2})\.\s*(\d{4})$/);
  let y, mo, d;
  if (m) [d, mo, y] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else if ((m = s.match(/^(\d{4})-(\d{2})-(\d{2})$/))) [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  else return null;
  if (y < 1000) return null;
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, "0")}-${String(mo).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}
