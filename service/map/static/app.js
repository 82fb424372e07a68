// The planners' conflict map. Plain ES module, no build step; MapLibre GL JS is vendored (window.maplibregl).
import { t, v, setLanguage, initialLanguage, language, formatDate } from "./i18n.js";

const maplibregl = window.maplibregl;

export const IMPACT_COLORS = {
  none: "#7b8794", footway: "#2f80c1", lane_reduction: "#e0a100", one_way: "#ef6c00", full_closure: "#c62828",
};
export const STATUS_COLORS = {
  draft: "#9aa5b1", submitted: "#616e7c", slot_proposed: "#7b3fe4", accepted: "#0e8fa3", contested: "#d81b60",
  approved: "#15803d", active: "#111827", rejected: "#b0b7bf", completed: "#b0b7bf", withdrawn: "#d0d5da",
};
const FIRM = ["approved", "active", "completed"];
const DEFAULT_STATUSES = ["draft", "submitted", "slot_proposed", "accepted", "contested", "approved", "active"];
const CONFLICT_KINDS = ["space", "diversion", "corridor", "zone", "moratorium", "blackout", "same_owner"];
const LAYER_GROUPS = ["sites", "routes", "conflicts", "opportunities", "zones", "corridors", "moratoriums", "blackouts"];
const LAYER_COLORS = {
  sites: "#c62828", routes: "#1d4ed8", conflicts: "#e11d48", opportunities: "#059669", zones: "#2563eb",
  corridors: "#0f766e", moratoriums: "#92400e", blackouts: "#374151",
};
export const SITE_LAYERS = ["sites-fill", "sites-line-planned", "sites-line-firm", "sites-point"];
const DAY_MS = 86400000;

const state = {
  config: null,
  data: {},
  sitesById: new Map(),
  bboxes: new Map(),
  day: null,
  allDays: false,
  // the ticked values; an unticked box hides its sites (impact and kind: all ticked once the config is loaded)
  filters: { owner: "", status: new Set(DEFAULT_STATUSES), impact: new Set(), kind: new Set(),
             conflict: new Set(CONFLICT_KINDS.filter((k) => k !== "same_owner")) },
  layers: new Set(LAYER_GROUPS),
  selected: null,
  key: sessionStorage.getItem("bst-key"),
  me: null,
  reasonCodes: null,
  playing: null,
  gantt: null,
};

let map;
let resolveReady;
const ready = new Promise((resolve) => { resolveReady = resolve; });
window.bst = { state, ready, SITE_LAYERS };

// --- helpers --------------------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

async function api(path, { method = "GET", body, headers = {}, auth = true } = {}) {
  const h = { Accept: "application/json, application/geo+json", ...headers };
  if (auth && state.key) h.Authorization = `Bearer ${state.key}`;
  if (body !== undefined) h["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  const text = await res.text();
  if (text) { try { data = JSON.parse(text); } catch { data = text; } }
  return { ok: res.ok, status: res.status, data, etag: res.headers.get("ETag") };
}

function problemText(r) {
  if (r.data && typeof r.data === "object") {
    const allowed = r.data.allowed ? ` (${r.data.allowed.join(", ")})` : "";
    return `${r.data.detail || r.data.title || r.status}${allowed}`;
  }
  return `${t("error")} ${r.status}`;
}

function dayToIso(n) { return new Date(n * DAY_MS).toISOString().slice(0, 10); }
function isoToDay(iso) { return Math.round(Date.parse(`${iso}T00:00:00Z`) / DAY_MS); }

function setStatus(text) { $("status-line").textContent = text || ""; }

function featureBbox(geom) {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  const walk = (c) => {
    if (typeof c[0] === "number") {
      x0 = Math.min(x0, c[0]); y0 = Math.min(y0, c[1]); x1 = Math.max(x1, c[0]); y1 = Math.max(y1, c[1]);
    } else c.forEach(walk);
  };
  if (geom) walk(geom.coordinates);
  return [x0, y0, x1, y1];
}

// --- data -----------------------------------------------------------------------------------------

async function fetchCollection(id) {
  const features = [];
  let url = `/ogc/collections/${id}/items?limit=10000`;
  while (url) {
    const r = await api(url);
    if (!r.ok) break;
    features.push(...r.data.features);
    const next = (r.data.links || []).find((l) => l.rel === "next");
    url = next ? next.href : null;
  }
  return { type: "FeatureCollection", features };
}

async function loadData() {
  const ids = ["sites", "routes", "conflicts", "opportunities", "zones", "corridors", "moratoriums", "blackouts"];
  const results = await Promise.all(ids.map(fetchCollection));
  ids.forEach((id, i) => { state.data[id] = results[i]; });
  state.sitesById = new Map(state.data.sites.features.map((f) => [f.id, f]));
  state.bboxes = new Map(state.data.sites.features.map((f) => [f.id, featureBbox(f.geometry)]));
  for (const f of state.data.conflicts.features) {
    const p = f.properties;
    p.start = p.overlap_start; p.end = p.overlap_end;
  }
  for (const id of ids) map.getSource(id)?.setData(state.data[id]);
  applyFilters();
}

// --- map ------------------------------------------------------------------------------------------

function offlineStyle() {
  return {
    version: 8,
    sources: { base: { type: "geojson", data: "/map/base.geojson" } },
    layers: [
      { id: "background", type: "background", paint: { "background-color": "#eceee9" } },
      { id: "base-fill", type: "fill", source: "base", paint: { "fill-color": "#f8f9f6" } },
      { id: "base-line", type: "line", source: "base", paint: { "line-color": "#a3ad9f", "line-width": 1.2 } },
    ],
  };
}

async function addMunicipalityLabels() {
  const r = await api("/map/base.geojson", { auth: false });
  if (!r.ok) return;
  for (const f of r.data.features) {
    if (!f.properties?.name) continue;
    const [x0, y0, x1, y1] = featureBbox(f.geometry);
    const el = document.createElement("div");
    el.className = "muni-label";
    el.textContent = f.properties.name;
    new maplibregl.Marker({ element: el }).setLngLat([(x0 + x1) / 2, (y0 + y1) / 2]).addTo(map);
  }
}

const isPoly = ["in", ["geometry-type"], ["literal", ["Polygon", "MultiPolygon"]]];
const isLine = ["in", ["geometry-type"], ["literal", ["LineString", "MultiLineString"]]];
const isPoint = ["in", ["geometry-type"], ["literal", ["Point", "MultiPoint"]]];
const impactColor = ["match", ["get", "impact"], ...Object.entries(IMPACT_COLORS).flat(), "#7b8794"];
const statusColor = ["match", ["get", "status"], ...Object.entries(STATUS_COLORS).flat(), "#616e7c"];

function addLayers() {
  const empty = { type: "FeatureCollection", features: [] };
  for (const id of LAYER_GROUPS) map.addSource(id, { type: "geojson", data: state.data[id] || empty });
  const L = (spec) => map.addLayer(spec);
  // rules below everything
  L({ id: "blackouts-fill", type: "fill", source: "blackouts", paint: { "fill-color": "#374151", "fill-opacity": 0.10 } });
  L({ id: "blackouts-line", type: "line", source: "blackouts", paint: { "line-color": "#374151", "line-width": 1.5, "line-dasharray": [4, 3] } });
  L({ id: "zones-fill", type: "fill", source: "zones", paint: { "fill-color": "#2563eb", "fill-opacity": 0.07 } });
  L({ id: "zones-line", type: "line", source: "zones", paint: { "line-color": "#2563eb", "line-width": 1.8, "line-dasharray": [2, 2] } });
  L({ id: "moratoriums-fill", type: "fill", source: "moratoriums", paint: { "fill-color": "#b45309", "fill-opacity": 0.16 } });
  L({ id: "moratoriums-line", type: "line", source: "moratoriums", paint: { "line-color": "#92400e", "line-width": 1.5 } });
  L({ id: "corridors-line", type: "line", source: "corridors", layout: { "line-cap": "round" },
     paint: { "line-color": "#0f766e", "line-width": ["interpolate", ["linear"], ["zoom"], 10, 4, 15, 12], "line-opacity": 0.28 } });
  // diversions and rail replacement
  L({ id: "routes-line", type: "line", source: "routes",
     paint: { "line-color": ["match", ["get", "route_kind"], "replacement", "#9333ea", "#1d4ed8"], "line-width": 2.5,
              "line-dasharray": [1.5, 1.2], "line-opacity": 0.85 } });
  L({ id: "opportunities-line", type: "line", source: "opportunities",
     paint: { "line-color": "#059669", "line-width": 3, "line-dasharray": [0.5, 1.5] } });
  // sites with an active conflict: red halo
  L({ id: "halo-line", type: "line", source: "sites", filter: ["all", ["!", isPoint], ["==", ["get", "id"], "__none__"]],
     layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": "#ef4444", "line-width": 16, "line-opacity": 0.35 } });
  L({ id: "halo-point", type: "circle", source: "sites", filter: ["all", isPoint, ["==", ["get", "id"], "__none__"]],
     paint: { "circle-radius": 16, "circle-color": "#ef4444", "circle-opacity": 0.35 } });
  // sites: colour = impact, casing = status, dashed while not yet approved
  L({ id: "sites-fill", type: "fill", source: "sites", filter: isPoly, paint: { "fill-color": impactColor, "fill-opacity": 0.35 } });
  L({ id: "sites-casing", type: "line", source: "sites", filter: ["!", isPoint],
     layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": statusColor, "line-width": 9 } });
  L({ id: "sites-line-planned", type: "line", source: "sites", filter: ["!", isPoint],
     layout: { "line-join": "round" }, paint: { "line-color": impactColor, "line-width": 5, "line-dasharray": [2, 1] } });
  L({ id: "sites-line-firm", type: "line", source: "sites", filter: ["!", isPoint],
     layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": impactColor, "line-width": 5 } });
  L({ id: "sites-point", type: "circle", source: "sites", filter: isPoint,
     paint: { "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, 5, 15, 9], "circle-color": impactColor,
              "circle-stroke-color": statusColor, "circle-stroke-width": 3 } });
  L({ id: "conflicts-line", type: "line", source: "conflicts",
     paint: { "line-color": ["match", ["get", "kind"], "same_owner", "#94a3b8", "#e11d48"], "line-width": 2.5 } });
  L({ id: "conflicts-point", type: "circle", source: "conflicts", filter: isPoint,
     paint: { "circle-radius": 5, "circle-color": "#fff", "circle-stroke-color": "#e11d48", "circle-stroke-width": 2.5 } });
  // the selected site
  L({ id: "selected-line", type: "line", source: "sites", filter: ["==", ["get", "id"], "__none__"],
     layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": "#0ea5e9", "line-width": 14, "line-opacity": 0.55 } });
  L({ id: "selected-point", type: "circle", source: "sites", filter: ["all", isPoint, ["==", ["get", "id"], "__none__"]],
     paint: { "circle-radius": 15, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#0ea5e9", "circle-stroke-width": 4 } });
  map.moveLayer("selected-line", "sites-fill");
}

const GROUP_LAYERS = {
  sites: ["sites-fill", "sites-casing", "sites-line-planned", "sites-line-firm", "sites-point", "halo-line", "halo-point"],
  routes: ["routes-line"], conflicts: ["conflicts-line", "conflicts-point"], opportunities: ["opportunities-line"],
  zones: ["zones-fill", "zones-line"], corridors: ["corridors-line"], moratoriums: ["moratoriums-fill", "moratoriums-line"],
  blackouts: ["blackouts-fill", "blackouts-line"],
};

// --- filters --------------------------------------------------------------------------------------

function dayExpr(startKey = "start", endKey = "end") {
  if (state.allDays || !state.day) return true;
  return ["all", ["<=", ["to-string", ["get", startKey]], state.day], [">=", ["to-string", ["get", endKey]], state.day]];
}

function siteExpr() {
  const f = state.filters;
  const parts = ["all", dayExpr(), ["in", ["get", "status"], ["literal", [...f.status]]]];
  parts.push(["in", ["get", "impact"], ["literal", [...f.impact]]]);
  parts.push(["in", ["get", "kind"], ["literal", [...f.kind]]]);
  if (f.owner) parts.push(["==", ["get", "owner"], f.owner]);
  return parts;
}

function siteMatches(p) {
  const f = state.filters;
  if (!f.status.has(p.status)) return false;
  if (!f.impact.has(p.impact)) return false;
  if (!f.kind.has(p.kind)) return false;
  if (f.owner && p.owner !== f.owner) return false;
  if (!state.allDays && state.day && !(p.start <= state.day && p.end >= state.day)) return false;
  return true;
}

function activeConflicts() {
  return state.data.conflicts.features.filter((c) => {
    const p = c.properties;
    if (!state.filters.conflict.has(p.kind)) return false;
    if (!state.allDays && state.day && !(p.overlap_start <= state.day && p.overlap_end >= state.day)) return false;
    const a = state.sitesById.get(p.site_a);
    const b = p.site_b ? state.sitesById.get(p.site_b) : null;
    return a && siteMatches(a.properties) && (!p.site_b || (b && siteMatches(b.properties)));
  });
}

function applyFilters() {
  if (!map || !map.getLayer("sites-fill")) return;
  const se = siteExpr();
  map.setFilter("sites-fill", ["all", isPoly, se]);
  map.setFilter("sites-casing", ["all", ["!", isPoint], se]);
  map.setFilter("sites-line-planned", ["all", ["!", isPoint], se, ["!", ["in", ["get", "status"], ["literal", FIRM]]]]);
  map.setFilter("sites-line-firm", ["all", ["!", isPoint], se, ["in", ["get", "status"], ["literal", FIRM]]]);
  map.setFilter("sites-point", ["all", isPoint, se]);
  const visibleIds = new Set(state.data.sites.features.filter((f) => siteMatches(f.properties)).map((f) => f.id));
  map.setFilter("routes-line", ["all", dayExpr(), ["in", ["get", "site_id"], ["literal", [...visibleIds]]]]);
  const conflicts = activeConflicts();
  const conflictIds = conflicts.map((c) => c.id);
  map.setFilter("conflicts-line", ["all", ["!", isPoint], ["in", ["id"], ["literal", conflictIds]]]);
  map.setFilter("conflicts-point", ["all", isPoint, ["in", ["id"], ["literal", conflictIds]]]);
  const hard = conflicts.filter((c) => c.properties.kind !== "same_owner");
  const inConflict = [...new Set(hard.flatMap((c) => [c.properties.site_a, c.properties.site_b].filter(Boolean)))];
  state.inConflict = new Set(inConflict);
  map.setFilter("halo-line", ["all", ["!", isPoint], ["in", ["get", "id"], ["literal", inConflict]]]);
  map.setFilter("halo-point", ["all", isPoint, ["in", ["get", "id"], ["literal", inConflict]]]);
  map.setFilter("opportunities-line", ["all", ["in", ["get", "site_a"], ["literal", [...visibleIds]]],
                                        ["in", ["get", "site_b"], ["literal", [...visibleIds]]]]);
  for (const group of ["moratoriums", "blackouts"]) {
    const ex = dayExpr();
    for (const id of GROUP_LAYERS[group]) map.setFilter(id, ex === true ? null : ex);
  }
  for (const [group, ids] of Object.entries(GROUP_LAYERS)) {
    for (const id of ids) map.setLayoutProperty(id, "visibility", state.layers.has(group) ? "visible" : "none");
  }
  const sel = state.selected || "__none__";
  map.setFilter("selected-line", ["all", ["!", isPoint], ["==", ["get", "id"], sel]]);
  map.setFilter("selected-point", ["all", isPoint, ["==", ["get", "id"], sel]]);
  updateBlackoutBanner();
  renderList();
}

function updateBlackoutBanner() {
  const banner = $("blackout-banner");
  const regionWide = (state.data.blackouts?.features || []).filter((f) => !f.geometry
    && (state.allDays || (f.properties.start <= state.day && f.properties.end >= state.day)));
  banner.hidden = regionWide.length === 0 || !state.layers.has("blackouts");
  if (!banner.hidden) banner.textContent = t("region_blackout", { name: regionWide.map((f) => f.properties.name).join(", ") });
}

// --- list panel (in sync with the map view, day and filters) --------------------------------------

function renderList() {
  const list = $("site-list");
  if (!state.data.sites) return;
  const b = map.getBounds();
  const inView = state.data.sites.features.filter((f) => {
    if (!siteMatches(f.properties)) return false;
    const [x0, y0, x1, y1] = state.bboxes.get(f.id);
    return x1 >= b.getWest() && x0 <= b.getEast() && y1 >= b.getSouth() && y0 <= b.getNorth();
  }).sort((a, c) => (a.properties.start + a.properties.title).localeCompare(c.properties.start + c.properties.title));
  $("list-count").textContent = `(${inView.length})`;
  if (!inView.length) {
    list.innerHTML = `<li class="empty" style="border:0;background:none;cursor:default">${esc(t("none_in_view"))}</li>`;
    return;
  }
  list.innerHTML = inView.slice(0, 400).map((f) => {
    const p = f.properties;
    const flag = state.inConflict?.has(f.id) ? ` <span class="conflict-flag" title="${esc(t("conflicts"))}">⚠</span>` : "";
    return `<li data-id="${esc(f.id)}" class="${f.id === state.selected ? "selected" : ""}" style="border-left-color:${IMPACT_COLORS[p.impact] || "#ccc"}">
      <span class="t">${esc(p.title)}${flag}</span>
      <span class="m">${esc(p.owner)}</span><br>
      <span class="m">${esc(t("from_to", { a: formatDate(p.start), b: formatDate(p.end) }))} · ${esc(v("status", p.status))} · ${esc(v("impact", p.impact))}</span>
    </li>`;
  }).join("");
}

// --- details panel --------------------------------------------------------------------------------

function pill(text, color) { return `<span class="pill" style="background:${color}">${esc(text)}</span>`; }

function conflictSentence(c, siteId) {
  const p = c.properties || c;
  const expl = p.explanation || p.reason_text;
  if (expl && typeof expl === "object") return expl[language()] || expl.de || "";
  if (typeof expl === "string") return expl;
  const lang = language();
  if (lang === "de") return p.distance_m != null ? `Abstand ${Math.round(p.distance_m)} m.` : "";
  return p.distance_m != null ? `Distance ${Math.round(p.distance_m)} m.` : "";
}

function renderConflicts(conflicts, siteId) {
  if (!conflicts.length) return `<p class="empty">${esc(t("no_conflicts"))}</p>`;
  return conflicts.map((c) => {
    const p = c.properties || c;
    const otherId = p.site_a === siteId ? p.site_b : p.site_a;
    const other = p.other?.title || (p.site_a === siteId ? p.title_b : p.title_a);
    const rule = p.rule && typeof p.rule === "object" ? p.rule.name : null;
    const otherLink = otherId ? ` ${esc(t("with"))} <a data-goto="${esc(otherId)}">${esc(other || otherId)}</a>`
      : rule ? ` – ${esc(rule)}` : "";
    const from = p.overlap_start || p.period?.start, to = p.overlap_end || p.period?.end;
    return `<div class="conflict-item ${p.kind === "same_owner" ? "info" : ""}">
      <strong>${esc(v("conflict", p.kind))}</strong>${otherLink}<br>
      <span class="m">${esc(t("overlap"))}: ${esc(t("from_to", { a: formatDate(from), b: formatDate(to) }))}</span>
      <div>${esc(conflictSentence(c, siteId))}</div></div>`;
  }).join("");
}

function renderExplanation(expl) {
  if (!expl || (typeof expl === "object" && !Object.keys(expl).length)) return "";
  let text;
  if (typeof expl === "string") text = expl;
  else if (expl[language()] && typeof expl[language()] === "string") text = expl[language()];
  else if (expl.summary) text = typeof expl.summary === "object" ? (expl.summary[language()] || expl.summary.de) : expl.summary;
  else if (expl.reason) text = typeof expl.reason === "object" ? (expl.reason[language()] || expl.reason.de) : expl.reason;
  else if (expl.text) text = expl.text;
  else text = JSON.stringify(expl, null, 1);
  return `<h3>${esc(t("explanation"))}</h3><div class="explanation">${esc(text)}</div>`;
}

function renderHistory(entries) {
  if (!entries || !entries.length) return `<p class="empty">${esc(t("no_history"))}</p>`;
  const fmt = new Intl.DateTimeFormat(language() === "de" ? "de-DE" : "en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "Europe/Berlin" });
  return entries.slice().reverse().map((h) => {
    const change = h.after && h.after.status ? ` → ${esc(v("status", h.after.status))}` : "";
    const code = h.reason_code ? `${reasonLabel(h.reason_code)}${h.reason ? ":" : ""}` : "";
    const why = h.reason || h.reason_code ? `<div>${esc(code)} ${esc(h.reason || "")}</div>` : "";
    return `<div class="history-item"><time>${esc(fmt.format(new Date(h.at)))} · ${esc(h.actor)}</time><strong>${esc(h.action)}</strong>${change}${why}</div>`;
  }).join("");
}

async function select(id, { fly = false } = {}) {
  state.selected = id;
  applyFilters();
  const feature = state.sitesById.get(id);
  if (!feature) return;
  if (fly) {
    const [x0, y0, x1, y1] = state.bboxes.get(id);
    map.fitBounds([[x0, y0], [x1, y1]], { padding: 120, maxZoom: 15, duration: 500 });
  }
  const p = feature.properties;
  $("details").hidden = false;
  $("d-title").textContent = p.title;
  const body = $("d-body");
  body.dataset.id = id;
  const base = `
    <div>${pill(v("status", p.status), STATUS_COLORS[p.status] || "#555")} ${pill(v("impact", p.impact), IMPACT_COLORS[p.impact] || "#555")}</div>
    <dl>
      <dt>${esc(t("owner"))}</dt><dd id="d-owner">${esc(p.owner)}</dd>
      <dt>${esc(t("kind"))}</dt><dd>${esc(v("kind", p.kind))}</dd>
      <dt>${esc(t("window"))}</dt><dd id="d-window">${esc(t("from_to", { a: formatDate(p.earliest_start), b: formatDate(p.latest_end) }))}</dd>
      <dt>${esc(t("duration"))}</dt><dd>${esc(p.duration_days)} ${esc(t("days"))}</dd>
      <dt>${esc(t("slot"))}</dt><dd id="d-slot">${p.slot_start ? `${esc(t("from_to", { a: formatDate(p.slot_start), b: formatDate(p.slot_end) }))} (${esc(v("slot_status", p.slot_status))})` : esc(t("no_slot"))}</dd>
      <dt>${esc(t("modes"))}</dt><dd>${esc((p.modes || []).map((m) => v("modes", m)).join(", ") || "–")}</dd>
      <dt>${esc(t("shift"))}</dt><dd>${esc(v("shift", p.shift))}</dd>
      <dt>${esc(t("urgency"))}</dt><dd>${esc(v("urgency", p.urgency))}</dd>
    </dl>
    <div id="d-more"><p class="empty">${esc(t("loading"))}</p></div>`;
  body.innerHTML = base;
  renderList();

  const publicConflicts = state.data.conflicts.features.filter((c) => c.properties.site_a === id || c.properties.site_b === id);
  let full = null, conflicts = publicConflicts, history = null, actions = null;
  if (state.key) {
    const [r1, r2, r3, r4] = await Promise.all([
      api(`/v1/requests/${id}`), api(`/v1/requests/${id}/conflicts`), api(`/v1/requests/${id}/history`),
      api(`/v1/requests/${id}/actions`), loadReasonCodes(),
    ]);
    if (r1.ok) full = { ...r1.data, etag: r1.etag };
    if (r2.ok) conflicts = normaliseConflicts(r2.data, id);
    if (r3.ok) history = r3.data;
    if (r4.ok) actions = r4.data;
  }
  if (body.dataset.id !== id) return; // another site was selected meanwhile
  let more = "";
  if (full) {
    if (full.slot) {
      $("d-slot").textContent = `${t("from_to", { a: formatDate(full.slot.start), b: formatDate(full.slot.end) })} (${v("slot_status", full.slot.status)})`;
    }
    more += full.description ? `<h3>${esc(t("description"))}</h3><p>${esc(full.description)}</p>` : "";
    more += `<h3>${esc(t("contact"))}</h3>`;
    more += full.contact
      ? `<p>${esc(full.contact.name)}<br>${esc(full.contact.phone || "")}<br>${full.contact.email ? `<a href="mailto:${esc(full.contact.email)}">${esc(full.contact.email)}</a>` : ""}</p>`
      : `<p class="empty">${esc(t("contact_hidden"))}</p>`;
    more += renderExplanation(full.slot?.explanation);
    if (full.unplaced) more += renderExplanation(full.unplaced);
  } else {
    more += `<h3>${esc(t("contact"))}</h3><p class="empty">${esc(t("contact_hidden"))}</p>`;
  }
  more += `<h3>${esc(t("conflicts"))}</h3>${renderConflicts(conflicts, id)}`;
  if (state.key) more += `<h3>${esc(t("history"))}</h3>${renderHistory(history)}`;
  if (state.me?.role && ["coordinator", "admin"].includes(state.me.role)) more += renderActions(full, actions);
  $("d-more").innerHTML = more;
  bindDetailActions(id, full);
}

function normaliseConflicts(data, siteId) {
  const items = Array.isArray(data) ? data : data.conflicts || data.features || [];
  return items.map((c) => {
    const p = c.properties ? { ...c.properties } : { ...c };
    if (!p.site_a) { p.site_a = siteId; p.site_b = p.other?.id || p.other_id || p.request_b || null; }
    const period = p.overlap || p.period;
    if (!p.overlap_start && period) { p.overlap_start = period.start; p.overlap_end = period.end; }
    if (!p.title_b && p.other) { p.title_b = p.other.title; }
    return { properties: p };
  });
}

function renderActions(full, actions) {
  if (!full) return `<div id="d-message"></div>`;
  const allowed = new Set(actions?.allowed || ["approve", "reject"]);
  const buttons = [];
  if (allowed.has("approve")) buttons.push(`<button type="button" class="ok" data-action="approve">${esc(t("approve"))}</button>`);
  if (allowed.has("reject")) buttons.push(`<button type="button" class="danger" data-action="reject">${esc(t("reject"))}</button>`);
  if (full.slot && full.slot.status === "proposed") buttons.push(`<button type="button" data-action="lock">${esc(t("lock"))}</button>`);
  const row = buttons.length ? `<div class="action-row">${buttons.join("")}</div>` : "";
  return `<h3>${esc(t("actions"))}</h3>${row}<div id="d-message"></div>`;
}

function message(text, ok) {
  const el = $("d-message");
  if (el) el.innerHTML = `<div class="message ${ok ? "ok" : "err"}">${esc(text)}</div>`;
}

function bindDetailActions(id, full) {
  $("d-more").querySelectorAll("[data-goto]").forEach((a) => a.addEventListener("click", () => select(a.dataset.goto, { fly: true })));
  $("d-more").querySelectorAll("[data-action]").forEach((btn) => btn.addEventListener("click", async () => {
    const action = btn.dataset.action;
    if (action === "approve") await approve(id, full);
    else if (action === "reject") await openReject(id);
    else if (action === "lock") {
      const r = await api(`/v1/requests/${id}/slot/lock`, { method: "POST" });
      if (!r.ok) return message(problemText(r), false);
      await refreshAfterAction(id, t("locked_ok"));
    }
  }));
}

async function approve(id, full, override = false) {
  const r = await api(`/v1/requests/${id}/approve`, { method: "POST", headers: { "If-Match": full.etag || `"v${full.version}"` },
                                                      body: override ? { override: true } : {} });
  if (r.ok) return refreshAfterAction(id, t("approved_ok"));
  if (r.status === 409 && !override && r.data?.conflicts) {
    if (confirm(t("override_confirm", { detail: r.data.detail || "" }))) return approve(id, full, true);
  }
  message(problemText(r), false);
}

// Reason codes with their German and English texts (rejections, revocations, system decisions); loaded once.
async function loadReasonCodes() {
  if (state.reasonCodes) return state.reasonCodes;
  const r = await api("/v1/reason-codes");
  if (!r.ok) return [{ code: "other", de: "Sonstiger Grund", en: "Other reason", use: "coordinator" }];
  state.reasonCodes = r.data;
  return state.reasonCodes;
}

function reasonLabel(code) {
  const c = (state.reasonCodes || []).find((x) => x.code === code);
  return c ? c[language()] || c.de : code;
}

async function openReject(id) {
  const codes = (await loadReasonCodes()).filter((c) => c.use === "coordinator");
  $("reject-code").innerHTML = codes.map((c) => `<option value="${esc(c.code)}">${esc(c[language()] || c.de)}</option>`).join("");
  $("reject-text").value = "";
  const dialog = $("reject-dialog");
  dialog.dataset.id = id;
  dialog.showModal();
}

async function sendReject(ev) {
  ev.preventDefault();
  const dialog = $("reject-dialog");
  const id = dialog.dataset.id;
  const body = { reason_code: $("reject-code").value };
  if ($("reject-text").value.trim()) body.reason = $("reject-text").value.trim();
  const r = await api(`/v1/requests/${id}/reject`, { method: "POST", body });
  dialog.close();
  if (!r.ok) return message(problemText(r), false);
  await refreshAfterAction(id, t("rejected_ok"));
}

async function refreshAfterAction(id, text) {
  await loadData();
  await select(id);
  message(text, true);
  setStatus(text);
}

// --- Gantt of a zone or corridor -----------------------------------------------------------------

async function openGantt(collection, id) {
  const r = await api(`/map/timeline/${collection}/${encodeURIComponent(id)}`);
  if (!r.ok) return;
  state.gantt = r.data;
  renderGantt();
}

function renderGantt() {
  const g = state.gantt;
  const panel = $("gantt");
  if (!g) { panel.hidden = true; return; }
  panel.hidden = false;
  $("gantt-title").textContent = t("timeline_of", { name: g.name });
  const sites = g.sites;
  if (!sites.length) { $("gantt-body").innerHTML = `<p class="empty">${esc(t("no_sites_here"))}</p>`; return; }
  const lo = Math.min(...sites.map((s) => isoToDay(s.earliest_start)));
  const hi = Math.max(...sites.map((s) => isoToDay(s.latest_end))) + 1;
  const labelW = 230, width = Math.max(600, $("gantt-body").clientWidth - 24), rowH = 24, top = 22;
  const scale = (width - labelW - 10) / Math.max(1, hi - lo);
  const x = (iso) => labelW + (isoToDay(iso) - lo) * scale;
  let svg = `<svg width="${width}" height="${top + sites.length * rowH + 6}" role="img" aria-label="${esc(t("timeline"))}">`;
  svg += `<g class="axis">`;
  for (let d = lo; d <= hi; d++) {
    const iso = dayToIso(d);
    if (iso.endsWith("-01")) {
      const px = labelW + (d - lo) * scale;
      svg += `<line x1="${px}" x2="${px}" y1="${top - 4}" y2="${top + sites.length * rowH}" stroke="#e3e7ec"/>`;
      if (iso.slice(5, 7) === "01" || scale * 30 > 28) svg += `<text x="${px + 2}" y="12">${iso.slice(5, 7)}/${iso.slice(2, 4)}</text>`;
    }
  }
  svg += `</g>`;
  sites.forEach((s, i) => {
    const y = top + i * rowH;
    const w0 = x(s.earliest_start), w1 = x(s.latest_end) + scale;
    svg += `<g class="row" data-id="${esc(s.id)}" style="cursor:pointer"><rect class="bg" x="0" y="${y}" width="${width}" height="${rowH}" fill="transparent"/>`;
    svg += `<text x="4" y="${y + 16}">${esc(s.title.length > 34 ? `${s.title.slice(0, 33)}…` : s.title)}</text>`;
    svg += `<rect x="${w0}" y="${y + 8}" width="${Math.max(2, w1 - w0)}" height="8" rx="3" fill="#dfe3e8"><title>${esc(t("window"))}</title></rect>`;
    const color = IMPACT_COLORS[s.impact] || "#888";
    if (s.slot_start) {
      const s0 = x(s.slot_start), s1 = x(s.slot_end) + scale;
      svg += `<rect x="${s0}" y="${y + 4}" width="${Math.max(2, s1 - s0)}" height="16" rx="3" fill="${color}" stroke="${STATUS_COLORS[s.status] || "#333"}" stroke-width="2"><title>${esc(t("slot"))}: ${esc(formatDate(s.slot_start))} – ${esc(formatDate(s.slot_end))}</title></rect>`;
    } else {
      const s0 = x(s.start), s1 = x(s.end) + scale;
      svg += `<rect x="${s0}" y="${y + 8}" width="${Math.max(2, s1 - s0)}" height="8" rx="3" fill="${color}" opacity=".45"/>`;
    }
    svg += `</g>`;
  });
  if (state.day && isoToDay(state.day) >= lo && isoToDay(state.day) <= hi) {
    const px = x(state.day);
    svg += `<line class="today" x1="${px}" x2="${px}" y1="${top - 6}" y2="${top + sites.length * rowH}"/>`;
  }
  svg += `</svg>`;
  $("gantt-body").innerHTML = svg;
  $("gantt-body").querySelectorAll(".row").forEach((row) => row.addEventListener("click", () => select(row.dataset.id, { fly: true })));
}

// --- time slider ----------------------------------------------------------------------------------

function initSlider() {
  const [lo, hi] = state.config.interval;
  const today = state.config.today;
  const min = isoToDay(lo || today), max = Math.max(isoToDay(hi || today), min);
  const slider = $("day-slider");
  slider.min = String(min); slider.max = String(max);
  const start = isoToDay(today);
  slider.value = String(start >= min && start <= max ? start : busiestDay(min, max));
  state.day = dayToIso(Number(slider.value));
  slider.addEventListener("input", () => setDay(dayToIso(Number(slider.value))));
  $("play-button").addEventListener("click", togglePlay);
  $("all-days").addEventListener("change", (e) => { state.allDays = e.target.checked; applyFilters(); renderGantt(); });
  renderSliderLabels();
}

// The day with the most sites set up (difference array over the sites' effective dates).
function busiestDay(min, max) {
  const counts = new Int32Array(max - min + 2);
  for (const f of state.data.sites?.features || []) {
    const a = Math.max(min, isoToDay(f.properties.start)), b = Math.min(max, isoToDay(f.properties.end));
    if (a > b) continue;
    counts[a - min] += 1; counts[b - min + 1] -= 1;
  }
  let best = min, run = 0, top = -1;
  for (let d = min; d <= max; d++) {
    run += counts[d - min];
    if (run > top) { top = run; best = d; }
  }
  return best;
}

function renderSliderLabels() {
  const slider = $("day-slider");
  $("slider-min").textContent = formatDate(dayToIso(Number(slider.min)));
  $("slider-max").textContent = formatDate(dayToIso(Number(slider.max)));
  $("day-label").textContent = formatDate(state.day);
  const play = $("play-button");
  play.textContent = state.playing ? "❚❚" : "▶";
  play.setAttribute("aria-label", state.playing ? t("pause") : t("play"));
  play.title = play.getAttribute("aria-label");
  $("day-slider").setAttribute("aria-label", t("day"));
}

export function setDay(iso) {
  state.day = iso;
  $("day-slider").value = String(isoToDay(iso));
  renderSliderLabels();
  applyFilters();
  if (state.gantt) renderGantt();
}

function togglePlay() {
  if (state.playing) { clearInterval(state.playing); state.playing = null; renderSliderLabels(); return; }
  state.playing = setInterval(() => {
    const slider = $("day-slider");
    const next = Number(slider.value) + 1;
    if (next > Number(slider.max)) { togglePlay(); return; }
    setDay(dayToIso(next));
  }, 120);
  renderSliderLabels();
}

// --- filter controls, legend, labels --------------------------------------------------------------

function checkbox(group, value, label, checked, color) {
  const sw = color ? `<span class="swatch" style="background:${color}"></span>` : "";
  return `<label><input type="checkbox" data-group="${group}" value="${esc(value)}" ${checked ? "checked" : ""}>${sw}${esc(label)}</label>`;
}

function renderControls() {
  const f = state.filters;
  $("f-status").innerHTML = state.config.statuses.map((s) => checkbox("status", s, v("status", s), f.status.has(s), STATUS_COLORS[s])).join("");
  $("f-impact").innerHTML = state.config.impacts.map((s) => checkbox("impact", s, v("impact", s), f.impact.has(s), IMPACT_COLORS[s])).join("");
  $("f-kind").innerHTML = state.config.kinds.map((s) => checkbox("kind", s, v("kind", s), f.kind.has(s))).join("");
  $("f-conflict").innerHTML = CONFLICT_KINDS.map((s) => checkbox("conflict", s, v("conflict", s), f.conflict.has(s))).join("");
  $("f-layers").innerHTML = LAYER_GROUPS.map((s) => checkbox("layers", s, t(`l_${s}`), state.layers.has(s), LAYER_COLORS[s])).join("");
  const owner = $("f-owner");
  owner.innerHTML = `<option value="">${esc(t("all_owners"))}</option>` +
    state.config.owners.map((o) => `<option ${o === f.owner ? "selected" : ""}>${esc(o)}</option>`).join("");
}

function bindControls() {
  document.querySelector(".sidebar").addEventListener("change", (e) => {
    const el = e.target;
    if (el.id === "f-owner") state.filters.owner = el.value;
    else if (el.dataset.group === "layers") el.checked ? state.layers.add(el.value) : state.layers.delete(el.value);
    else if (el.dataset.group) {
      const set = state.filters[el.dataset.group];
      el.checked ? set.add(el.value) : set.delete(el.value);
    }
    applyFilters();
  });
  $("site-list").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-id]");
    if (li) select(li.dataset.id, { fly: true });
  });
  $("details-close").addEventListener("click", () => { $("details").hidden = true; state.selected = null; applyFilters(); map.resize(); });
  $("gantt-close").addEventListener("click", () => { state.gantt = null; renderGantt(); });
  $("reject-form").addEventListener("submit", sendReject);
  $("reject-cancel").addEventListener("click", () => $("reject-dialog").close());
  $("lang-button").addEventListener("click", () => { setLanguage(language() === "de" ? "en" : "de"); renderTexts(); });
  $("key-button").addEventListener("click", toggleKey);
  $("plan-button").addEventListener("click", startPlan);
}

function renderLegend() {
  const imp = Object.entries(IMPACT_COLORS).map(([k, c]) => `<div><span class="swatch" style="background:${c}"></span>${esc(v("impact", k))}</div>`).join("");
  $("legend").innerHTML = `<h3>${esc(t("impact"))}</h3>${imp}
    <h3>${esc(t("status"))}</h3>
    <div><span class="lineswatch dashed" style="border-color:#555"></span>${esc(v("status", "submitted"))} / ${esc(v("status", "slot_proposed"))}</div>
    <div><span class="lineswatch" style="border-color:#555"></span>${esc(v("status", "approved"))} / ${esc(v("status", "active"))}</div>
    <div><span class="lineswatch" style="border-color:#e11d48"></span>${esc(t("l_conflicts"))}</div>
    <div><span class="lineswatch dashed" style="border-color:#1d4ed8"></span>${esc(t("diversion"))}</div>
    <div><span class="lineswatch dashed" style="border-color:#9333ea"></span>${esc(t("replacement"))}</div>`;
}

function renderTexts() {
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.title = t("title");
  $("key-button").textContent = state.key ? t("key_logout") : t("key_login");
  $("who").textContent = state.me ? `${state.me.organisation.name} (${state.me.role})` : t("public_view");
  $("plan-button").hidden = !(state.me && ["coordinator", "admin"].includes(state.me.role));
  if (state.config) { renderControls(); renderLegend(); renderSliderLabels(); applyFilters(); renderGantt(); }
  if (state.selected) select(state.selected);
}

// --- planner key and plan runs --------------------------------------------------------------------

async function loadMe() {
  state.me = null;
  if (!state.key) return true;
  const r = await api("/v1/me");
  if (r.ok) { state.me = r.data; return true; }
  sessionStorage.removeItem("bst-key");
  state.key = null;
  return false;
}

async function toggleKey() {
  if (state.key) {
    sessionStorage.removeItem("bst-key");
    state.key = null; state.me = null;
  } else {
    const key = prompt(t("key_prompt"));
    if (!key) return;
    state.key = key.trim();
    sessionStorage.setItem("bst-key", state.key);
    if (!(await loadMe())) { alert(t("key_invalid")); return; }
  }
  renderTexts();
  await loadData();
}

async function startPlan() {
  const b = map.getBounds();
  const slider = $("day-slider");
  const from = dayToIso(Number(slider.min)), to = dayToIso(Number(slider.max));
  if (!confirm(t("plan_confirm", { from: formatDate(from), to: formatDate(to) }))) return;
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((n) => Math.round(n * 1e5) / 1e5);
  const r = await api("/v1/plans", { method: "POST", body: { bbox, from, to } });
  if (!r.ok) { setStatus(problemText(r)); return; }
  setStatus(t("plan_started"));
  const poll = async () => {
    const p = await api(`/v1/plans/${r.data.id}`);
    if (!p.ok) return;
    setStatus(t("plan_status", { id: r.data.id.slice(0, 8), status: v("plan_status", p.data.status), progress: Math.round((p.data.progress || 0) * 100) }));
    if (p.data.status === "done" || p.data.status === "failed") { await loadData(); return; }
    setTimeout(poll, 2000);
  };
  setTimeout(poll, 1000);
}

// --- start ----------------------------------------------------------------------------------------

async function main() {
  setLanguage(initialLanguage());
  bindControls();
  await loadMe();
  const cfg = await api("/map/config.json");
  state.config = cfg.data;
  state.filters.impact = new Set(state.config.impacts);
  state.filters.kind = new Set(state.config.kinds);
  renderTexts();
  const [x0, y0, x1, y1] = state.config.bbox;
  map = new maplibregl.Map({
    container: "map",
    style: state.config.style_url || offlineStyle(),
    bounds: [[x0, y0], [x1, y1]],
    fitBoundsOptions: { padding: 40 },
    attributionControl: { compact: true },
    preserveDrawingBuffer: true,
  });
  Object.assign(window.bst, { map, select, setDay, openGantt });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  await new Promise((resolve) => map.on("load", resolve));
  addLayers();
  if (!state.config.style_url) addMunicipalityLabels();
  state.allDays = true; // no day filter until the slider knows the data
  await loadData();
  state.allDays = false;
  initSlider();
  applyFilters();
  renderLegend();
  map.on("moveend", renderList);
  map.on("click", onMapClick);
  for (const id of [...SITE_LAYERS, "conflicts-line", "zones-fill", "corridors-line"]) {
    map.on("mouseenter", id, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", id, () => { map.getCanvas().style.cursor = ""; });
  }
  map.once("idle", () => resolveReady(true));
}

function onMapClick(e) {
  const box = [[e.point.x - 5, e.point.y - 5], [e.point.x + 5, e.point.y + 5]];
  const site = map.queryRenderedFeatures(box, { layers: SITE_LAYERS })[0];
  if (site) return select(site.properties.id);
  const conflict = map.queryRenderedFeatures(box, { layers: ["conflicts-line"] })[0];
  if (conflict) return select(conflict.properties.site_a);
  const rule = map.queryRenderedFeatures(box, { layers: ["corridors-line", "zones-fill"] })[0];
  if (rule) return openGantt(rule.layer.id.startsWith("zones") ? "zones" : "corridors", rule.properties.id ?? rule.id);
}

main().catch((err) => { console.error(err); setStatus(`${t("error")}: ${err.message}`); });
