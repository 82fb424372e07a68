// The planners' conflict map. Plain ES module, no build step; MapLibre GL JS is vendored (window.maplibregl).
import { t, v, setLanguage, initialLanguage, language, formatDate, parseDate, PROBLEMS } from "./i18n.js";

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
// Collections loaded only while their layer is on (off at first): dig-once opportunities outnumber the sites.
const LAZY_GROUPS = ["opportunities"];
// After a step, at most this many conflict partners are read again one by one; more: everything is read again.
const MAX_PARTNERS = 60;
const LAYER_COLORS = {
  sites: "#c62828", routes: "#1d4ed8", conflicts: "#e11d48", opportunities: "#059669", zones: "#2563eb",
  corridors: "#0f766e", moratoriums: "#92400e", blackouts: "#374151",
};
export const SITE_LAYERS = ["sites-fill", "sites-line-planned", "sites-line-firm", "sites-line-unplaced", "sites-point",
                            "sites-marker"];
// Sites outside the filters that conflict with a shown site: drawn faintly, so that the conflict stays readable.
const PARTNER_LAYERS = ["partner-line", "partner-point", "partner-marker"];
// Zoomed out, a line or an area of a few dozen metres is less than a pixel (and MapLibre drops it from its tiles):
// below this zoom every site also gets a marker at a point on it (the server's ST_PointOnSurface, where its
// conflict lines end), and each conflict between two sites a marker halfway; from it on only the real geometry.
export const MARKER_MAXZOOM = 12;
// The extra sources of those markers, derived from the sites and conflicts collections.
const MARKER_SOURCES = { sites: "site-markers", conflicts: "conflict-markers" };
// a click on these selects the conflict's first site
const CONFLICT_LAYERS = ["conflicts-line", "conflicts-marker"];
const UNPLACED_COLOR = "#6b7280";
const DAY_MS = 86400000;
// Phones: the details are a panel over the lower part of the screen (style.css, the same width).
const PHONE_QUERY = "(max-width: 760px)";
// Screens this wide (full HD) open with the legend unfolded beside the map: it takes 250 px of the map's width.
const WIDE_QUERY = "(min-width: 1800px)";
const NO_PADDING = { top: 0, bottom: 0, left: 0, right: 0 };
// The least height of map (px) a selected site is shown in above the phone's details panel.
const MIN_VISIBLE_MAP = 120;

const state = {
  config: null,
  data: {},
  sitesById: new Map(),
  bboxes: new Map(),
  day: null,
  allDays: false,
  // the ticked values; an unticked box hides its sites (impact and kind: all ticked once the config is loaded)
  filters: { owner: "", status: new Set(DEFAULT_STATUSES), impact: new Set(), kind: new Set(),
             conflict: new Set(CONFLICT_KINDS.filter((k) => k !== "same_owner")), unplaced: true },
  // the dig-once opportunities (the largest collection) are off at first: loaded only once switched on (LAZY_GROUPS)
  layers: new Set(LAYER_GROUPS.filter((g) => !LAZY_GROUPS.includes(g))),
  selected: null,
  key: sessionStorage.getItem("bst-key"),
  me: null,
  reasonCodes: null,
  playing: null,
  gantt: null,
  ganttReturn: null, // where the focus goes back to when the Gantt chart opened from the keyboard closes
  loadErrors: [], // collections that could not be loaded (completely): the map says so instead of "no conflicts"
  returnFocus: null, // where the focus goes back to when the details close
  linkMissing: null, // the site the address names (#request=<id>) when the viewer cannot see it: a notice says so
};

let map;
let resolveReady;
const ready = new Promise((resolve) => { resolveReady = resolve; });
window.bst = { state, ready, SITE_LAYERS, MARKER_MAXZOOM };

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

// A problem answer of the API in the page's language: `own`, a German (or English) sentence of the page for the
// known problem types and fields (naming the sites and rules the answer lists; `context.slot` is the slot the step
// was about), and `detail`, the API's own (English, developer-facing) detail, only secondary text below it.
function problemParts(r, context = {}) {
  if (!(r.data && typeof r.data === "object")) return { own: `${t("error")} ${r.status}`, detail: "" };
  const type = String(r.data.type || "").split("/").pop();
  const field = r.data.errors?.[0]?.field;
  const known = PROBLEMS[language()];
  let own = (field && known.fields[`${type}:${field}`]) || known.types[type] || known.status[r.status];
  if (typeof own === "function") own = own(r.data, context); // a sentence naming what the problem lists
  const detail = r.data.detail || r.data.title || String(r.status);
  const allowed = r.data.allowed ? ` ${t("allowed_now")}: ${r.data.allowed.map((a) => v("verb", a)).join(", ") || "–"}.` : "";
  if (!own) return { own: `${t("error")} ${r.status}: ${detail}${allowed}`, detail: "" };
  return { own: `${own}${allowed}`, detail };
}

// The page's sentence of a problem (for the status line, a dialog or a question), without the API's detail.
function problemText(r, context) { return problemParts(r, context).own; }

// The planner found no slot for it: the site is drawn and listed with its requested window only.
function isUnplaced(p) { return p.slot_status === "unplaced" && !p.slot_start; }

function dayToIso(n) { return new Date(n * DAY_MS).toISOString().slice(0, 10); }
function isoToDay(iso) { return Math.round(Date.parse(`${iso}T00:00:00Z`) / DAY_MS); }

function setStatus(text) { $("status-line").textContent = text || ""; $("status-line").title = text || ""; }

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

// All pages of a collection; `failed` (the HTTP status or the network error) when a page could not be read:
// then the features are incomplete, and the page must not pretend otherwise.
// `query`: more parameters (`&bbox=…`, `&site=…`) for a part of the collection.
async function fetchCollection(id, query = "") {
  const features = [];
  let url = `/ogc/collections/${id}/items?limit=10000${query}`;
  let failed = null;
  while (url) {
    let r;
    try { r = await api(url); } catch (err) { failed = err.message || "network"; break; }
    if (!r.ok || !Array.isArray(r.data?.features)) { failed = r.status; break; }
    features.push(...r.data.features);
    const next = (r.data.links || []).find((l) => l.rel === "next");
    // only its path and query: the link is absolute (BAUSTELLEN_PUBLIC_URL), the page may be open on another
    // address of the same server, and the key must go nowhere else
    const href = next ? new URL(next.href, location.href) : null;
    url = href ? `${href.pathname}${href.search}` : null;
  }
  return { type: "FeatureCollection", features, failed };
}

function renderLoadError() {
  const box = $("load-error");
  box.hidden = !state.loadErrors.length;
  if (box.hidden) return;
  const names = state.loadErrors.map(([id, status]) => `${t(`l_${id}`)} (${status})`).join(", ");
  box.textContent = t("load_failed", { names });
}

// Everything the page shows (on start, signing in or out, and when a step's changes cannot be read alone); the
// collections of LAZY_GROUPS only while their layer is on.
async function loadData() {
  const ids = LAYER_GROUPS.filter((id) => !LAZY_GROUPS.includes(id) || state.layers.has(id));
  const results = await Promise.all(ids.map((id) => fetchCollection(id)));
  const empty = { type: "FeatureCollection", features: [], failed: null };
  for (const id of LAZY_GROUPS) state.data[id] = ids.includes(id) ? state.data[id] : { ...empty, unloaded: true };
  ids.forEach((id, i) => { state.data[id] = results[i]; });
  state.loadErrors = ids.map((id, i) => [id, results[i].failed]).filter(([, failed]) => failed !== null);
  renderLoadError();
  state.sitesById = new Map(state.data.sites.features.map((f) => [f.id, f]));
  state.bboxes = new Map(state.data.sites.features.map((f) => [f.id, featureBbox(f.geometry)]));
  state.data.conflicts.features.forEach(conflictDates);
  renderRuleList();
  for (const id of LAYER_GROUPS) map.getSource(id)?.setData(state.data[id]);
  map.getSource(MARKER_SOURCES.sites)?.setData(siteMarkers(state.data.sites.features));
  map.getSource(MARKER_SOURCES.conflicts)?.setData(conflictMarkers(state.data.conflicts.features));
  applyFilters();
}

// A conflict counts on the days of its overlap (the day filter reads `start` and `end`).
function conflictDates(f) { f.properties.start = f.properties.overlap_start; f.properties.end = f.properties.overlap_end; }

// A lazily loaded layer switched on: its collection is read now (once; steps keep it up to date afterwards).
async function loadLazy(id) {
  if (!state.data[id]?.unloaded) return;
  state.data[id] = { type: "FeatureCollection", features: [], failed: null, loading: true };
  const fc = await fetchCollection(id);
  state.data[id] = fc;
  state.loadErrors = state.loadErrors.filter(([c]) => c !== id).concat(fc.failed !== null ? [[id, fc.failed]] : []);
  renderLoadError();
  map.getSource(id)?.setData(fc);
  applyFilters();
}

// One site as the sites collection gives it: the feature, `null` when the viewer cannot see it (any more), or
// `undefined` when it could not be read.
async function fetchSite(id) {
  try {
    const r = await api(`/ogc/collections/sites/items/${encodeURIComponent(id)}`);
    if (r.ok && r.data?.type === "Feature") return r.data;
    return r.status === 404 ? null : undefined;
  } catch { return undefined; }
}

// The sites linked to a site by a precedence (`after`, either way; `/map/linked/{id}`): a step on it may place them
// again without any conflict between the two (a successor's provisional slot moved behind an approved one).
// `undefined` when they could not be read.
async function fetchLinked(id) {
  try {
    const r = await api(`/map/linked/${encodeURIComponent(id)}`);
    if (r.ok && Array.isArray(r.data?.linked)) return r.data.linked;
    return r.status === 404 ? [] : undefined;
  } catch { return undefined; }
}

// The sites another site has a pair (a conflict) with, in the conflicts given.
function partnersIn(features, id) {
  const out = new Set();
  for (const f of features) {
    const { site_a: a, site_b: b } = f.properties;
    if (a === id && b) out.add(b); else if (b === id && a) out.add(a);
  }
  return out;
}

// The zones and corridors (capacity rules) whose conflicts involve one of `ids`: a change of one member
// recomputes every pair of the rule (conflicts service.refresh_for_request), also pairs of other members.
function capacityRules(features, ids) {
  const out = new Set();
  for (const f of features) {
    const p = f.properties;
    if (!["zone", "corridor"].includes(p.kind) || !(ids.has(p.site_a) || ids.has(p.site_b))) continue;
    const rule = p.reason?.rule?.id || p.zone_id || p.corridor_id;
    if (rule) out.add(`${p.kind}:${rule}`);
  }
  return out;
}

function ruleOf(p) { return `${p.kind}:${p.reason?.rule?.id || p.zone_id || p.corridor_id}`; }

// What changed about a site that moves its pairs: its state, its slot and its dates.
function siteChanged(before, after) {
  if (!before || !after) return before !== after;
  const a = before.properties, b = after.properties;
  return ["status", "slot_status", "slot_start", "slot_end", "start", "end", "impact"].some((k) => a[k] !== b[k]);
}

// After a step on the request `id` (approve, reject, lock, unlock, propose): only what the step may have changed is
// read again, not every collection: the request itself (the OGC item), its conflicts (and opportunities, when
// loaded), the sites it had or has a conflict with and those linked to it by a precedence (an approval, a lock or a
// proposal places submitted neighbours that clash with it or break the order with it again); of those that changed,
// their conflicts too; the pairs of the zones and corridors these count for. The sources are patched in place.
// Anything unreadable (or too many partners): everything again.
async function refreshAfterStep(id) {
  const lazyOn = LAZY_GROUPS.filter((g) => !state.data[g]?.unloaded);
  const [site, pairs, linked] = await Promise.all([fetchSite(id), fetchCollection("conflicts", `&site=${id}`),
    fetchLinked(id)]);
  if (site === undefined || pairs.failed !== null || linked === undefined) return loadData();
  const partners = new Set([...partnersIn(state.data.conflicts.features, id), ...partnersIn(pairs.features, id),
    ...linked]);
  partners.delete(id);
  if (partners.size > MAX_PARTNERS) return loadData();
  const others = await Promise.all([...partners].map((p) => fetchSite(p)));
  if (others.includes(undefined)) return loadData();
  const sites = new Map([[id, site]]);
  [...partners].forEach((p, i) => sites.set(p, others[i]));
  // the sites whose pairs are read again: the request and the partners the step changed
  const moved = new Set([id, ...[...partners].filter((p) => siteChanged(state.sitesById.get(p), sites.get(p)))]);
  const more = await Promise.all([...moved].filter((m) => m !== id).map((m) => fetchCollection("conflicts", `&site=${m}`)));
  if (more.some((fc) => fc.failed !== null)) return loadData();
  const conflicts = [pairs, ...more].flatMap((fc) => fc.features);
  // the capacity rules' pairs: every member lies in the rule's area, so the area's bbox finds them all
  const rules = new Set([...capacityRules(state.data.conflicts.features, moved), ...capacityRules(conflicts, moved)]);
  let ruleConflicts = [];
  if (rules.size) {
    const box = rulesBbox(rules);
    const fc = await fetchCollection("conflicts", `&kind=zone&kind=corridor${box ? `&bbox=${box.join(",")}` : ""}`);
    if (fc.failed !== null) return loadData();
    ruleConflicts = fc.features.filter((f) => rules.has(ruleOf(f.properties)));
  }
  const lazy = {};
  for (const g of lazyOn) {
    const fcs = await Promise.all([...moved].map((m) => fetchCollection(g, `&site=${m}`)));
    if (fcs.some((fc) => fc.failed !== null)) return loadData();
    lazy[g] = fcs.flatMap((fc) => fc.features);
  }
  patchSites(sites);
  const involved = (f) => moved.has(f.properties.site_a) || moved.has(f.properties.site_b);
  patchPairs("conflicts", (f) => involved(f) || rules.has(ruleOf(f.properties)), [...conflicts, ...ruleConflicts]);
  for (const g of lazyOn) patchPairs(g, involved, lazy[g]);
  applyFilters();
}

// After a plan run over `bbox` ([west, south, east, north]): the sites there, their conflicts (and opportunities,
// when loaded) are read again; the rest of the region stays as it is.
async function refreshBbox(bbox) {
  const q = `&bbox=${bbox.join(",")}`;
  const lazyOn = LAZY_GROUPS.filter((g) => !state.data[g]?.unloaded);
  const [sites, conflicts, ...lazy] = await Promise.all([fetchCollection("sites", q), fetchCollection("conflicts", q),
    ...lazyOn.map((g) => fetchCollection(g, q))]);
  if ([sites, conflicts, ...lazy].some((fc) => fc.failed !== null)) return loadData();
  const ids = new Set(sites.features.map((f) => f.id));
  patchSites(new Map(sites.features.map((f) => [f.id, f])));
  const involved = (f) => ids.has(f.properties.site_a) || ids.has(f.properties.site_b);
  patchPairs("conflicts", involved, conflicts.features);
  lazyOn.forEach((g, i) => patchPairs(g, involved, lazy[i].features));
  applyFilters();
}

// The bbox of the zones and corridors named ("zone:<id>"), with a margin (a corridor counts the sites in its
// buffer); null (the whole region) when one of them is not known here.
function rulesBbox(rules) {
  let box = null;
  for (const rule of rules) {
    const [kind, rid] = rule.split(":");
    const f = (state.data[kind === "zone" ? "zones" : "corridors"]?.features || []).find((x) => String(x.id ?? x.properties.id) === rid);
    if (!f?.geometry) return null;
    const [x0, y0, x1, y1] = featureBbox(f.geometry);
    box = box ? [Math.min(box[0], x0), Math.min(box[1], y0), Math.max(box[2], x1), Math.max(box[3], y1)] : [x0, y0, x1, y1];
  }
  const m = 0.01; // about 1 km
  return box && [box[0] - m, box[1] - m, box[2] + m, box[3] + m].map((n) => Math.round(n * 1e6) / 1e6);
}

// Puts the sites read again into the sites collection (`null`: no longer visible, taken out), with their routes'
// dates and state (a route is its site's), and hands the sources to the map.
function patchSites(sites) {
  const list = state.data.sites.features;
  const at = new Map(list.map((f, i) => [f.id, i]));
  const gone = new Set();
  for (const [id, f] of sites) {
    if (f) {
      if (at.has(id)) list[at.get(id)] = f; else list.push(f);
      state.sitesById.set(id, f);
      state.bboxes.set(id, featureBbox(f.geometry));
    } else if (at.has(id)) { gone.add(id); state.sitesById.delete(id); state.bboxes.delete(id); }
  }
  if (gone.size) state.data.sites.features = list.filter((f) => !gone.has(f.id));
  const routes = state.data.routes;
  if (routes) {
    routes.features = routes.features.filter((r) => !gone.has(r.properties.site_id));
    for (const r of routes.features) {
      const s = sites.get(r.properties.site_id);
      if (!s) continue;
      for (const k of ["title", "status", "impact", "start", "end"]) r.properties[k] = s.properties[k];
    }
    map.getSource("routes")?.setData(routes);
  }
  map.getSource("sites")?.setData(state.data.sites);
  map.getSource(MARKER_SOURCES.sites)?.setData(siteMarkers(state.data.sites.features));
}

// Replaces the pairs (conflicts, opportunities) that `stale` says were read again by those read (`fresh`).
function patchPairs(id, stale, fresh) {
  const seen = new Set();
  const unique = fresh.filter((f) => !seen.has(f.id) && seen.add(f.id));
  const fc = state.data[id];
  fc.features = fc.features.filter((f) => !seen.has(f.id) && !stale(f)).concat(unique);
  if (id === "conflicts") {
    unique.forEach(conflictDates);
    map.getSource(MARKER_SOURCES.conflicts)?.setData(conflictMarkers(fc.features));
  }
  map.getSource(id)?.setData(fc);
}

// Where a site is drawn as a marker: the point on it the server computed; the middle of its extent otherwise.
function sitePoint(f) {
  const p = f.properties.point;
  if (Array.isArray(p) && p.length >= 2) return [Number(p[0]), Number(p[1])];
  if (f.geometry?.type === "Point") return f.geometry.coordinates;
  const [x0, y0, x1, y1] = state.bboxes.get(f.id) || featureBbox(f.geometry);
  return [(x0 + x1) / 2, (y0 + y1) / 2];
}

// The markers of the sites drawn as lines or areas (points are circles at every zoom already): same id and
// properties as the site, so the filters, the selection and a click work on them as on the site itself.
function siteMarkers(features) {
  return { type: "FeatureCollection", features: features.filter((f) => f.geometry && f.geometry.type !== "Point")
    .map((f) => ({ type: "Feature", id: f.id, properties: f.properties, geometry: { type: "Point", coordinates: sitePoint(f) } })) };
}

// A conflict between two sites is a line joining them, as short as their distance: its marker sits halfway.
// (A conflict with a rule is a point already.)
function conflictMarkers(features) {
  return { type: "FeatureCollection", features: features.filter((f) => f.geometry?.type === "LineString")
    .map((f) => {
      const c = f.geometry.coordinates, a = c[0], b = c[c.length - 1];
      return { type: "Feature", id: f.id, properties: f.properties,
               geometry: { type: "Point", coordinates: [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2] } };
    }) };
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
    el.removeAttribute("aria-label"); // MapLibre names every marker "Map marker"; this one is only a label
    el.setAttribute("aria-hidden", "true");
  }
}

const isPoly = ["in", ["geometry-type"], ["literal", ["Polygon", "MultiPolygon"]]];
const isLine = ["in", ["geometry-type"], ["literal", ["LineString", "MultiLineString"]]];
const isPoint = ["in", ["geometry-type"], ["literal", ["Point", "MultiPoint"]]];
const impactColor = ["match", ["get", "impact"], ...Object.entries(IMPACT_COLORS).flat(), "#7b8794"];
const statusColor = ["match", ["get", "status"], ...Object.entries(STATUS_COLORS).flat(), "#616e7c"];
const isUnplacedExpr = ["==", ["get", "slot_status"], "unplaced"];

function addLayers() {
  const empty = { type: "FeatureCollection", features: [] };
  for (const id of LAYER_GROUPS) map.addSource(id, { type: "geojson", data: state.data[id] || empty });
  for (const id of Object.values(MARKER_SOURCES)) map.addSource(id, { type: "geojson", data: empty });
  const M = { source: MARKER_SOURCES.sites, maxzoom: MARKER_MAXZOOM, filter: ["==", ["get", "id"], "__none__"] };
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
  L({ id: "halo-marker", type: "circle", ...M, paint: { "circle-radius": 11, "circle-color": "#ef4444", "circle-opacity": 0.4 } });
  // sites: colour = impact, casing = status, dashed while not yet approved
  // a conflict partner outside the filters: faint grey
  L({ id: "partner-line", type: "line", source: "sites", filter: ["==", ["get", "id"], "__none__"],
     layout: { "line-cap": "round", "line-join": "round" },
     paint: { "line-color": "#64748b", "line-width": 4, "line-opacity": 0.45, "line-dasharray": [1, 1] } });
  L({ id: "partner-point", type: "circle", source: "sites", filter: ["==", ["get", "id"], "__none__"],
     paint: { "circle-radius": 6, "circle-color": "#cbd5e1", "circle-opacity": 0.7, "circle-stroke-color": "#64748b",
              "circle-stroke-width": 1.5 } });
  L({ id: "partner-marker", type: "circle", ...M,
     paint: { "circle-radius": 4, "circle-color": "#cbd5e1", "circle-opacity": 0.7, "circle-stroke-color": "#64748b",
              "circle-stroke-width": 1.5 } });
  L({ id: "sites-fill", type: "fill", source: "sites", filter: isPoly,
     paint: { "fill-color": impactColor, "fill-opacity": ["case", isUnplacedExpr, 0.08, 0.35] } });
  L({ id: "sites-casing", type: "line", source: "sites", filter: ["!", isPoint],
     layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": statusColor, "line-width": 9 } });
  L({ id: "sites-line-planned", type: "line", source: "sites", filter: ["!", isPoint],
     layout: { "line-join": "round" }, paint: { "line-color": impactColor, "line-width": 5, "line-dasharray": [2, 1] } });
  L({ id: "sites-line-firm", type: "line", source: "sites", filter: ["!", isPoint],
     layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": impactColor, "line-width": 5 } });
  // no slot found by the planner: only the requested window is known, so thin, grey and dotted
  L({ id: "sites-line-unplaced", type: "line", source: "sites", filter: ["all", ["!", isPoint], isUnplacedExpr],
     layout: { "line-join": "round" }, paint: { "line-color": UNPLACED_COLOR, "line-width": 2.5, "line-dasharray": [1, 2] } });
  L({ id: "sites-point", type: "circle", source: "sites", filter: isPoint,
     paint: { "circle-radius": ["interpolate", ["linear"], ["zoom"], 9, 5, 15, 9],
              "circle-color": ["case", isUnplacedExpr, "#ffffff", impactColor],
              "circle-stroke-color": ["case", isUnplacedExpr, UNPLACED_COLOR, statusColor], "circle-stroke-width": 3 } });
  // zoomed out: the lines and areas as markers (colour = impact, ring = status; unplaced: hollow and grey)
  L({ id: "sites-marker", type: "circle", ...M,
     paint: { "circle-radius": ["interpolate", ["linear"], ["zoom"], 6, 3.5, 11, 5.5],
              "circle-color": ["case", isUnplacedExpr, "#ffffff", impactColor],
              "circle-stroke-color": ["case", isUnplacedExpr, UNPLACED_COLOR, statusColor], "circle-stroke-width": 2 } });
  L({ id: "conflicts-line", type: "line", source: "conflicts",
     paint: { "line-color": ["match", ["get", "kind"], "same_owner", "#94a3b8", "#e11d48"], "line-width": 2.5 } });
  L({ id: "conflicts-point", type: "circle", source: "conflicts", filter: isPoint,
     paint: { "circle-radius": 5, "circle-color": "#fff", "circle-stroke-color": "#e11d48", "circle-stroke-width": 2.5 } });
  L({ id: "conflicts-marker", type: "circle", source: MARKER_SOURCES.conflicts, maxzoom: MARKER_MAXZOOM,
     filter: ["in", ["id"], ["literal", []]],
     paint: { "circle-radius": 3, "circle-color": ["match", ["get", "kind"], "same_owner", "#94a3b8", "#e11d48"],
              "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 } });
  // the selected site
  L({ id: "selected-line", type: "line", source: "sites", filter: ["==", ["get", "id"], "__none__"],
     layout: { "line-cap": "round", "line-join": "round" }, paint: { "line-color": "#0ea5e9", "line-width": 14, "line-opacity": 0.55 } });
  L({ id: "selected-point", type: "circle", source: "sites", filter: ["all", isPoint, ["==", ["get", "id"], "__none__"]],
     paint: { "circle-radius": 15, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#0ea5e9", "circle-stroke-width": 4 } });
  L({ id: "selected-marker", type: "circle", ...M,
     paint: { "circle-radius": 11, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#0ea5e9", "circle-stroke-width": 4 } });
  map.moveLayer("selected-line", "sites-fill");
}

const GROUP_LAYERS = {
  sites: ["sites-fill", "sites-casing", "sites-line-planned", "sites-line-firm", "sites-line-unplaced", "sites-point",
          "sites-marker", "halo-line", "halo-point", "halo-marker", ...PARTNER_LAYERS],
  routes: ["routes-line"], conflicts: ["conflicts-line", "conflicts-point", "conflicts-marker"],
  opportunities: ["opportunities-line"],
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
  if (!f.unplaced) parts.push(["!", isUnplacedExpr]);
  return parts;
}

function siteMatches(p) {
  const f = state.filters;
  if (!f.status.has(p.status)) return false;
  if (!f.impact.has(p.impact)) return false;
  if (!f.kind.has(p.kind)) return false;
  if (f.owner && p.owner !== f.owner) return false;
  if (!f.unplaced && isUnplaced(p)) return false;
  if (!state.allDays && state.day && !(p.start <= state.day && p.end >= state.day)) return false;
  return true;
}

// The conflicts of the shown sites on the day: one shown site is enough (the other may be filtered out; it is
// then drawn faintly), so a filter never hides a real conflict of a site on the map.
function activeConflicts() {
  return state.data.conflicts.features.filter((c) => {
    const p = c.properties;
    if (!state.filters.conflict.has(p.kind)) return false;
    if (!state.allDays && state.day && !(p.overlap_start <= state.day && p.overlap_end >= state.day)) return false;
    const a = state.sitesById.get(p.site_a);
    const b = p.site_b ? state.sitesById.get(p.site_b) : null;
    return (a && siteMatches(a.properties)) || (b && siteMatches(b.properties));
  });
}

function applyFilters() {
  if (!map || !map.getLayer("sites-fill")) return;
  const se = siteExpr();
  map.setFilter("sites-fill", ["all", isPoly, se]);
  map.setFilter("sites-casing", ["all", ["!", isPoint], se, ["!", isUnplacedExpr]]);
  map.setFilter("sites-line-planned", ["all", ["!", isPoint], se, ["!", isUnplacedExpr],
                                       ["!", ["in", ["get", "status"], ["literal", FIRM]]]]);
  map.setFilter("sites-line-firm", ["all", ["!", isPoint], se, ["in", ["get", "status"], ["literal", FIRM]]]);
  map.setFilter("sites-line-unplaced", ["all", ["!", isPoint], se, isUnplacedExpr]);
  map.setFilter("sites-point", ["all", isPoint, se]);
  map.setFilter("sites-marker", se);
  const visibleIds = new Set(state.data.sites.features.filter((f) => siteMatches(f.properties)).map((f) => f.id));
  map.setFilter("routes-line", ["all", dayExpr(), ["in", ["get", "site_id"], ["literal", [...visibleIds]]]]);
  const conflicts = activeConflicts();
  const conflictIds = conflicts.map((c) => c.id);
  map.setFilter("conflicts-line", ["all", ["!", isPoint], ["in", ["id"], ["literal", conflictIds]]]);
  map.setFilter("conflicts-point", ["all", isPoint, ["in", ["id"], ["literal", conflictIds]]]);
  map.setFilter("conflicts-marker", ["in", ["id"], ["literal", conflictIds]]);
  const hard = conflicts.filter((c) => c.properties.kind !== "same_owner");
  const involved = [...new Set(hard.flatMap((c) => [c.properties.site_a, c.properties.site_b].filter(Boolean)))];
  const inConflict = involved.filter((id) => visibleIds.has(id));
  state.inConflict = new Set(inConflict);
  const partners = [...new Set(conflicts.flatMap((c) => [c.properties.site_a, c.properties.site_b]))]
    .filter((id) => id && !visibleIds.has(id));
  map.setFilter("partner-line", ["all", ["!", isPoint], ["in", ["get", "id"], ["literal", partners]]]);
  map.setFilter("partner-point", ["all", isPoint, ["in", ["get", "id"], ["literal", partners]]]);
  map.setFilter("partner-marker", ["in", ["get", "id"], ["literal", partners]]);
  map.setFilter("halo-line", ["all", ["!", isPoint], ["in", ["get", "id"], ["literal", inConflict]]]);
  map.setFilter("halo-point", ["all", isPoint, ["in", ["get", "id"], ["literal", inConflict]]]);
  map.setFilter("halo-marker", ["in", ["get", "id"], ["literal", inConflict]]);
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
  map.setFilter("selected-marker", ["==", ["get", "id"], sel]);
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
  const focused = document.activeElement?.closest?.("#site-list li[data-id]")?.dataset.id;
  // one tab stop for the whole list (the entry focused, else the selected one, else the first); the arrow keys,
  // Home and End move through it (bindControls), so the keyboard passes a list of hundreds in one step
  const shown = inView.slice(0, 400);
  const stop = [focused, state.selected].find((id) => id && shown.some((f) => f.id === id)) || shown[0].id;
  const partners = conflictPartners();
  list.innerHTML = shown.map((f) => {
    const p = f.properties;
    // the text alternative of the map's red halo: which sites it conflicts with (for screen readers; ⚠ shows it)
    const names = [...(partners.get(f.id) || [])].map((o) => state.sitesById.get(o)?.properties.title || o);
    const [open, close] = language() === "de" ? ["„", "“"] : ["“", "”"];
    const said = names.length ? t("conflicts_with", { sites: names.map((n) => `${open}${n}${close}`).join(", ") }) : t("conflicts");
    const flag = state.inConflict?.has(f.id) ? `<span class="conflict-flag" title="${esc(said)}"><span aria-hidden="true">⚠</span><span class="sr-only">${esc(said)}</span></span>` : "";
    const unplaced = isUnplaced(p);
    // an unplaced request has no dates of its own: its requested window, marked as such
    const when = unplaced ? `${t("window_short")} ${t("from_to", { a: formatDate(p.start), b: formatDate(p.end) })}`
      : t("from_to", { a: formatDate(p.start), b: formatDate(p.end) });
    const badge = unplaced ? `<span class="unplaced-flag">${esc(t("unplaced"))}</span>` : "";
    return `<li data-id="${esc(f.id)}" tabindex="${f.id === stop ? 0 : -1}"${f.id === state.selected ? ` aria-current="true"` : ""} title="${esc(p.title)}" class="${f.id === state.selected ? "selected" : ""}${unplaced ? " unplaced" : ""}" style="border-left-color:${unplaced ? UNPLACED_COLOR : IMPACT_COLORS[p.impact] || "#ccc"}">
      <span class="t">${esc(p.title)}</span>${flag}
      <span class="m">${badge}${esc(p.owner)}</span>
      <span class="m">${esc(when)} · ${esc(v("status", p.status))} · ${esc(v("impact", p.impact))}</span>
    </li>`;
  }).join("");
  if (focused) list.querySelector(`li[data-id="${CSS.escape(focused)}"]`)?.focus();
}

// The sites each shown site conflicts with on the day: the conflicts drawn with a halo (kinds ticked, not `same_owner`).
function conflictPartners() {
  const out = new Map();
  if (!state.data.conflicts) return out;
  for (const c of activeConflicts()) {
    const { site_a: a, site_b: b, kind } = c.properties;
    if (!a || !b || kind === "same_owner") continue;
    if (!out.has(a)) out.set(a, new Set());
    if (!out.has(b)) out.set(b, new Set());
    out.get(a).add(b); out.get(b).add(a);
  }
  return out;
}

// --- details panel --------------------------------------------------------------------------------

// Black or white, whichever reads better on `color` (WCAG relative luminance): the pills' colours are the map's,
// and white text on the lighter ones (lane reduction, draft, rejected, …) fell below a contrast of 4.5:1.
export function inkOn(color) {
  const rgb = String(color).match(/^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i);
  if (!rgb) return "#fff";
  const [r, g, b] = rgb.slice(1).map((h) => {
    const c = parseInt(h, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  return (1.05) / (l + 0.05) >= (l + 0.05) / 0.05 ? "#fff" : "#000";
}

function pill(text, color) { return `<span class="pill" style="background:${color};color:${inkOn(color)}">${esc(text)}</span>`; }

const ROUTE_WORDS = {
  de: { diversion: "Umleitungsstrecke", replacement_route: "Route des Schienenersatzverkehrs" },
  en: { diversion: "diversion route", replacement_route: "rail-replacement bus route" },
};

// What the conflict is about, in the page's language: the API's explanation when it gives one (signed in),
// else a sentence from the public facts of the OGC conflicts collection (rule name, route, distance).
function conflictSentence(c) {
  const p = c.properties || c;
  const expl = p.explanation || p.reason_text;
  if (expl && typeof expl === "object") return expl[language()] || expl.de || "";
  if (typeof expl === "string") return expl;
  const de = language() === "de";
  const reason = p.reason || {};
  const rule = p.rule_name || reason.rule?.name || (p.rule && typeof p.rule === "object" ? p.rule.name : null);
  const titles = { a: p.title_a || "?", b: p.title_b || "?" };
  if (p.kind === "diversion" || (p.kind === "same_owner" && reason.via?.length)) {
    const via = reason.via?.[0] || { site: "a", route_of: "b", route: "diversion" };
    const route = ROUTE_WORDS[de ? "de" : "en"][via.route] || ROUTE_WORDS[de ? "de" : "en"].diversion;
    return de ? `„${titles[via.site]}“ liegt auf der ${route} von „${titles[via.route_of]}“; beide sind gleichzeitig eingerichtet.`
      : `“${titles[via.site]}” lies on the ${route} of “${titles[via.route_of]}” while both are in place.`;
  }
  if (p.kind === "corridor" || p.kind === "zone") {
    const cap = reason.rule?.capacity;
    const where = p.kind === "corridor" ? (de ? "Auf dem Korridor" : "on the corridor") : (de ? "In der Zone" : "in the zone");
    const peak = reason.peak != null ? (de ? ` Im Zeitraum wären es ${reason.peak}.` : ` There would be ${reason.peak}.`) : "";
    if (de) return `${where} „${rule || "?"}“ ${cap === 1 ? "ist höchstens 1 Baustelle" : `sind höchstens ${cap ?? "?"} Baustellen`} gleichzeitig erlaubt.${peak}`;
    return `${cap === 1 ? "At most 1 site is" : `At most ${cap ?? "?"} sites are`} allowed at the same time ${where} “${rule || "?"}”.${peak}`;
  }
  if (p.kind === "moratorium") {
    const why = reason.rule?.reason ? ` (${reason.rule.reason})` : "";
    return de ? `Im Bereich „${rule || "?"}“ gilt eine Aufbruchsperre${why}; Aufgrabungen nur im Notfall.`
      : `The area “${rule || "?"}” is protected from excavation${why}; digging only in an emergency.`;
  }
  if (p.kind === "blackout") {
    return de ? `Während der Sperrzeit „${rule || "?"}“ ist diese Verkehrseinschränkung nicht zulässig.`
      : `This traffic restriction is not allowed during the blackout “${rule || "?"}”.`;
  }
  if (p.distance_m == null) return "";
  return de ? `Beide Baustellen liegen ${Math.round(p.distance_m)} m auseinander und sperren gleichzeitig.`
    : `Both sites are ${Math.round(p.distance_m)} m apart and restrict traffic at the same time.`;
}

function renderConflicts(conflicts, siteId, incomplete = false) {
  if (incomplete) return `<p class="message err" role="alert">${esc(t("conflicts_unknown"))}</p>${conflicts.length ? renderConflicts(conflicts, siteId) : ""}`;
  if (!conflicts.length) return `<p class="empty">${esc(t("no_conflicts"))}</p>`;
  return conflicts.map((c) => {
    const p = c.properties || c;
    const otherId = p.site_a === siteId ? p.site_b : p.site_a;
    const other = p.other?.title || (p.site_a === siteId ? p.title_b : p.title_a);
    const rule = (p.rule && typeof p.rule === "object" ? p.rule.name : null) || p.rule_name || p.reason?.rule?.name || null;
    const otherLink = otherId ? ` ${esc(t("with"))} <a data-goto="${esc(otherId)}" href="#">${esc(other || otherId)}</a>${rule ? ` – ${esc(rule)}` : ""}`
      : rule ? ` – ${esc(rule)}` : "";
    const from = p.overlap_start || p.period?.start, to = p.overlap_end || p.period?.end;
    return `<div class="conflict-item ${p.kind === "same_owner" ? "info" : ""}">
      <strong>${esc(v("conflict", p.kind))}</strong>${otherLink}<br>
      <span class="m">${esc(t("overlap"))}: ${esc(t("from_to", { a: formatDate(from), b: formatDate(to) }))}</span>
      <div>${esc(conflictSentence(c))}</div></div>`;
  }).join("");
}

// The owner's counter-proposal: while the request is contested the window asked for instead of the proposed slot
// (`slot.counter_proposal`: earliest_start, latest_end, the owner's reason); after a plan run worked with it, the
// window and whether the plan met it (`counter_proposal` of the slot's explanation or of `unplaced`: `met`).
function counterOf(full) {
  const live = full?.slot?.counter_proposal;
  if (live?.earliest_start) return { ...live, live: true };
  const planned = full?.slot?.explanation?.counter_proposal || full?.unplaced?.counter_proposal;
  if (planned?.earliest_start) return { ...planned, live: false, unplaced: !full.slot?.explanation?.counter_proposal };
  return null;
}

function renderCounter(full) {
  const c = counterOf(full);
  if (!c) return "";
  const window = t("from_to", { a: formatDate(c.earliest_start), b: formatDate(c.latest_end) });
  let outcome = "";
  if (!c.live && c.met !== undefined) outcome = c.met ? t("counter_met") : c.unplaced ? t("counter_unplaced") : t("counter_unmet");
  const [open, close] = language() === "de" ? ["„", "“"] : ["“", "”"];
  const why = c.live && c.reason ? `<br><span class="m">${open}${esc(c.reason)}${close}</span>` : "";
  return `<dt>${esc(t("counter_proposal"))}</dt><dd id="d-counter">${esc(window)}${outcome ? ` (${esc(outcome)})` : ""}${why}</dd>`;
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
    // what changed, as "before → after": the state, and the slot's dates (a move, a new proposal, a loss)
    const before = h.before || {}, after = h.after || {};
    const lines = [];
    if (after.status && before.status && after.status !== before.status) {
      lines.push(`${t("history_status")}: ${v("status", before.status)} → ${v("status", after.status)}`);
    }
    const dates = (slot) => (slot && slot.start ? `${formatDate(slot.start)}–${formatDate(slot.end)}` : t("history_no_slot"));
    if ("slot" in after && h.before && "slot" in h.before) {
      const from = dates(before.slot), to = dates(after.slot);
      if (from !== to) lines.push(`${t("history_slot")}: ${from} → ${to}`);
    }
    const change = lines.map((line) => `<div>${esc(line)}</div>`).join("");
    const code = h.reason_code ? `${reasonLabel(h.reason_code)}${h.reason ? ":" : ""}` : "";
    const why = h.reason || h.reason_code ? `<div>${esc(code)} ${esc(h.reason || "")}</div>` : "";
    return `<div class="history-item"><time>${esc(fmt.format(new Date(h.at)))} · ${esc(v("actor", h.actor))}</time><strong>${esc(v("action", h.action))}</strong>${change}${why}</div>`;
  }).join("");
}

// The unplaced block of the details: why the planner found no slot (signed in: the API's reason), and which
// requests block it.
function renderUnplaced(unplaced) {
  let reason = unplaced?.reason;
  if (reason && typeof reason === "object") reason = reason[language()] || reason.de;
  const blocking = (unplaced?.blocking || []).map((b) => {
    const f = state.sitesById.get(b);
    return f ? `<a data-goto="${esc(b)}" href="#">${esc(f.properties.title)}</a>` : null;
  }).filter(Boolean);
  return `<h3>${esc(t("unplaced_why"))}</h3><div class="explanation unplaced-reason">${esc(reason || t("unplaced_hint"))}${
    blocking.length ? `<br>${esc(t("blocked_by"))}: ${blocking.join(", ")}` : ""}</div>`;
}

// `keepHash`: the address names a site that cannot be shown (the notice says so); it stays for a retry after signing in.
function closeDetails({ keepHash = false } = {}) {
  const wasOpen = !$("details").hidden;
  $("details").hidden = true;
  $("d-body").dataset.id = "";
  state.selected = null;
  if (!keepHash) writeHash(null);
  applyFilters();
  map.resize();
  setPaddingInPlace(NO_PADDING); // the whole map is visible again (phones); the view stays where it is
  // back to where the details were opened from (a list item is drawn anew meanwhile: found again by its id)
  const back = state.returnFocus;
  state.returnFocus = null;
  if (!wasOpen || !back) return;
  const el = back.el?.isConnected ? back.el : back.listId ? $("site-list").querySelector(`li[data-id="${CSS.escape(back.listId)}"]`) : null;
  el?.focus();
}

// The history is readable for the coordinators and the site's owner only (others get a 403).
function mayReadHistory(p) {
  if (!state.me) return false;
  return ["coordinator", "admin"].includes(state.me.role) || p.owner_id === state.me.organisation?.id;
}

async function select(id, { fly = false, focus = false } = {}) {
  const feature = state.sitesById.get(id);
  if (!feature) { if (state.selected === id) closeDetails(); return; }
  state.selected = id;
  writeHash(id);
  if (state.linkMissing) { state.linkMissing = null; renderLinkNotice(); }
  applyFilters();
  const p = feature.properties;
  const unplaced = isUnplaced(p);
  const opening = $("details").hidden;
  if (focus && opening) {
    const el = document.activeElement;
    state.returnFocus = { el, listId: el?.closest?.("#site-list li[data-id]")?.dataset.id };
  }
  $("details").hidden = false;
  if (opening) map.resize(); // wide screens: the details take room from the map; fit the site into what is left
  $("d-title").textContent = p.title;
  if (focus) $("d-title").focus();
  const body = $("d-body");
  body.dataset.id = id;
  const base = `
    <div>${pill(v("status", p.status), STATUS_COLORS[p.status] || "#555")} ${pill(v("impact", p.impact), IMPACT_COLORS[p.impact] || "#555")}${unplaced ? ` ${pill(t("unplaced"), UNPLACED_COLOR)}` : ""}</div>
    <dl>
      <dt>${esc(t("owner"))}</dt><dd id="d-owner">${esc(p.owner)}</dd>
      <dt>${esc(t("kind"))}</dt><dd>${esc(v("kind", p.kind))}</dd>
      <dt>${esc(t("window"))}</dt><dd id="d-window">${esc(t("from_to", { a: formatDate(p.earliest_start), b: formatDate(p.latest_end) }))}</dd>
      <dt>${esc(t("duration"))}</dt><dd>${esc(p.duration_days)} ${esc(t("days"))}</dd>
      <dt>${esc(t("slot"))}</dt><dd id="d-slot">${p.slot_start ? `${esc(t("from_to", { a: formatDate(p.slot_start), b: formatDate(p.slot_end) }))} (${esc(v("slot_status", p.slot_status))})` : unplaced ? `<strong class="unplaced-text">${esc(t("unplaced_slot"))}</strong>` : esc(t("no_slot"))}</dd>
      <dt>${esc(t("modes"))}</dt><dd>${esc((p.modes || []).map((m) => v("modes", m)).join(", ") || "–")}</dd>
      <dt>${esc(t("shift"))}</dt><dd>${esc(v("shift", p.shift))}</dd>
      <dt>${esc(t("urgency"))}</dt><dd>${esc(v("urgency", p.urgency))}</dd>
    </dl>
    <div id="d-more"><p class="empty">${esc(t("loading"))}</p></div>`;
  body.innerHTML = base;
  renderList();
  revealSelected({ fly });

  const publicConflicts = state.data.conflicts.features.filter((c) => c.properties.site_a === id || c.properties.site_b === id);
  let full = null, conflicts = publicConflicts, history = null, actions = null;
  const withHistory = mayReadHistory(p);
  if (state.key) {
    const [r1, r2, r3, r4] = await Promise.all([
      api(`/v1/requests/${id}`), api(`/v1/requests/${id}/conflicts`),
      withHistory ? api(`/v1/requests/${id}/history`) : null,
      api(`/v1/requests/${id}/actions`), loadReasonCodes(),
    ]);
    if (r1.ok) full = { ...r1.data, etag: r1.etag };
    if (r2.ok) conflicts = normaliseConflicts(r2.data, id);
    if (r3?.ok) history = r3.data;
    if (r4.ok) actions = r4.data;
  }
  if (body.dataset.id !== id) return; // another site was selected meanwhile
  let more = "";
  if (full) {
    if (full.slot) {
      $("d-slot").textContent = `${t("from_to", { a: formatDate(full.slot.start), b: formatDate(full.slot.end) })} (${v("slot_status", full.slot.status)})`;
    }
    const counter = renderCounter(full);
    if (counter) $("d-slot").insertAdjacentHTML("afterend", counter);
    more += full.description ? `<h3>${esc(t("description"))}</h3><p>${esc(full.description)}</p>` : "";
    more += `<h3>${esc(t("contact"))}</h3>`;
    more += full.contact
      ? `<p>${esc(full.contact.name)}<br>${esc(full.contact.phone || "")}<br>${full.contact.email ? `<a href="mailto:${esc(full.contact.email)}">${esc(full.contact.email)}</a>` : ""}</p>`
      : `<p class="empty">${esc(t("contact_hidden"))}</p>`;
    more += renderExplanation(full.slot?.explanation);
    if (!full.slot && (full.unplaced || unplaced)) more += renderUnplaced(full.unplaced);
  } else {
    more += `<h3>${esc(t("contact"))}</h3><p class="empty">${esc(t("contact_hidden"))}</p>`;
    if (unplaced) more += renderUnplaced(null);
  }
  const conflictsMissing = conflicts === publicConflicts && state.loadErrors.some(([c]) => c === "conflicts");
  more += `<h3>${esc(t("conflicts"))}</h3>${renderConflicts(conflicts, id, conflictsMissing)}`;
  if (withHistory) more += `<h3>${esc(t("history"))}</h3>${renderHistory(history)}`;
  if (state.me?.role && ["coordinator", "admin"].includes(state.me.role)) more += renderActions(full, actions);
  $("d-more").innerHTML = more;
  bindDetailActions(id, full);
}

// --- keeping the selected site in sight ------------------------------------------------------------

const isPhone = () => window.matchMedia(PHONE_QUERY).matches;

function mapSize() {
  const c = map.getCanvas();
  return [c.clientWidth, c.clientHeight];
}

// The part of the map hidden from the planner: on a phone, what the details panel covers at the bottom and what
// is scrolled off the screen at the top; nothing on a wide screen (the details sit beside the map there).
function hiddenMapPadding() {
  if (!isPhone() || $("details").hidden) return { ...NO_PADDING };
  const m = map.getContainer().getBoundingClientRect();
  const panelTop = Math.min($("details").getBoundingClientRect().top, window.innerHeight);
  const top = Math.max(0, Math.round(-m.top));
  const bottom = Math.max(0, Math.round(m.bottom - panelTop));
  // never more than the map minus a strip to show the site in
  return { top, bottom: Math.max(0, Math.min(bottom, Math.round(m.height) - top - MIN_VISIBLE_MAP)), left: 0, right: 0 };
}

// Changes the map's padding (its centre is the middle of the unpadded part) without moving what is drawn.
function setPaddingInPlace(pad) {
  if (!map) return;
  const old = map.getPadding();
  if (["top", "bottom", "left", "right"].every((k) => Math.abs((old[k] || 0) - pad[k]) < 1)) return;
  const [w, h] = mapSize();
  const center = map.unproject([(w + pad.left - pad.right) / 2, (h + pad.top - pad.bottom) / 2]);
  map.jumpTo({ center, padding: pad });
}

// Shows the selected site in the part of the map the planner sees: `fly` fits the map to it (from the list, a
// link, the Gantt chart); otherwise, on a phone, the map pans only if the site is under the details panel. The
// padding stays while the panel is open, so zooming and centring keep to the visible part; closing restores it.
function revealSelected({ fly = false } = {}) {
  const f = state.selected && state.sitesById.get(state.selected);
  if (!map || !f) return;
  if (isPhone() && !$("details").hidden) {
    // scrolled down to the list: bring the map back on screen so that there is room above the panel
    const m = map.getContainer().getBoundingClientRect();
    const panelTop = Math.min($("details").getBoundingClientRect().top, window.innerHeight);
    if (Math.min(m.bottom, panelTop) - Math.max(m.top, 0) < MIN_VISIBLE_MAP) window.scrollBy(0, m.top);
  }
  const pad = hiddenMapPadding();
  setPaddingInPlace(pad);
  const [w, h] = mapSize();
  if (fly) {
    const [x0, y0, x1, y1] = state.bboxes.get(f.id);
    const room = Math.min(w - pad.left - pad.right, h - pad.top - pad.bottom);
    map.fitBounds([[x0, y0], [x1, y1]], { padding: Math.max(8, Math.min(120, Math.floor(room / 4))), maxZoom: 15, duration: 500 });
    return;
  }
  if (!isPhone()) return;
  const point = sitePoint(f);
  const at = map.project(point), margin = 24;
  const visible = at.x >= pad.left + margin && at.x <= w - pad.right - margin
    && at.y >= pad.top + margin && at.y <= h - pad.bottom - margin;
  if (!visible) map.easeTo({ center: point, duration: 400 });
}

// The panel grows when the conflicts and the history have loaded (or the phone is turned): keep the site in sight.
let revealPending = false;
function watchDetailsPanel() {
  new ResizeObserver(() => {
    if (!map || !state.selected || $("details").hidden || revealPending) return;
    revealPending = true;
    const run = () => { revealPending = false; if (state.selected && !$("details").hidden) revealSelected(); };
    if (map.isMoving()) map.once("moveend", run); else requestAnimationFrame(run);
  }).observe($("details"));
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

// The coordinator's buttons: what the workflow allows now (the /actions answer; nothing if it failed) and what
// makes sense for the slot: approving needs a slot (proposed or locked), locking a proposed one, unlocking a
// locked one; proposing a slot at a chosen start wherever the workflow allows a proposal.
function renderActions(full, actions) {
  if (!full) return `<div id="d-message"></div>`;
  const allowed = new Set(actions?.allowed || []);
  const hasSlot = !!(full.slot && full.slot.start && ["proposed", "locked"].includes(full.slot.status));
  const buttons = [];
  if (allowed.has("approve") && hasSlot) buttons.push(`<button type="button" class="ok" data-action="approve">${esc(t("approve"))}</button>`);
  if (allowed.has("reject")) buttons.push(`<button type="button" class="danger" data-action="reject">${esc(t("reject"))}</button>`);
  // an active emergency reported by mistake (the API offers `cancel` for emergencies only)
  if (allowed.has("cancel")) buttons.push(`<button type="button" class="danger" data-action="cancel">${esc(t("cancel_emergency"))}</button>`);
  if (full.slot && full.slot.status === "proposed") buttons.push(`<button type="button" data-action="lock">${esc(t("lock"))}</button>`);
  if (full.slot && full.slot.status === "locked") buttons.push(`<button type="button" data-action="unlock">${esc(t("unlock"))}</button>`);
  const note = allowed.has("approve") && !hasSlot ? `<p class="empty" id="d-no-approve">${esc(t("approve_needs_slot"))}</p>` : "";
  const propose = allowed.has("propose") ? renderPropose(full) : "";
  if (!buttons.length && !note && !propose) return `<div id="d-message"></div>`;
  const row = buttons.length ? `<div class="action-row">${buttons.join("")}</div>` : "";
  // contested with a counter-proposal: approving would grant the slot the owner refused
  const counter = counterOf(full);
  const pending = counter?.live && buttons.length ? `<p class="hint" id="d-counter-note">${esc(t("counter_pending", {
    a: formatDate(counter.earliest_start), b: formatDate(counter.latest_end) }))}</p>` : "";
  return `<h3>${esc(t("actions"))}</h3>${pending}${row}${note}${propose}<div id="d-message"></div>`;
}

// The possible starts of a slot: in the requested window (the whole duration in it), not before today.
function proposeRange(full) {
  const lastStart = dayToIso(isoToDay(full.latest_end) - (full.duration_days - 1));
  const today = state.config?.today || "";
  const first = full.earliest_start > today ? full.earliest_start : today;
  return { min: first <= lastStart ? first : full.earliest_start, max: lastStart };
}

// "Propose a slot starting on": a date field (the slot's start if it has one, else the preferred start, within
// the possible starts) and its button. The API decides; the range is a hint. A text field in the page's date
// format (see dateField), the possible starts as ISO dates in data-min and data-max.
function renderPropose(full) {
  const { min, max } = proposeRange(full);
  const counter = counterOf(full);
  const wanted = (counter?.live && counter.earliest_start) || full.slot?.start || full.preferred_start || min;
  const value = wanted < min ? min : wanted > max ? max : wanted;
  return `<div class="propose-row">
    <label class="field" for="d-propose-start"><span>${esc(t("propose_at"))}</span>
      ${dateField("d-propose-start", value, "d-propose-hint d-propose-format", `data-min="${esc(min)}" data-max="${esc(max)}"`)}</label>
    <button type="button" data-action="propose">${esc(t("propose"))}</button>
    <p class="hint" id="d-propose-hint">${esc(t("propose_hint", { a: formatDate(min), b: formatDate(max), n: full.duration_days }))}</p>
    <span class="sr-only" id="d-propose-format">${esc(t("date_hint"))}</span>
  </div>`;
}

// A date field of the page: text in the page's format (DD.MM.YYYY in German), never <input type="date">, whose
// display follows the browser's language instead (MM/DD/YYYY in an English browser). parseDate reads what is typed.
function dateField(id, iso, describedBy, attributes = "") {
  return `<input type="text" id="${id}" ${attributes} class="date-input" value="${esc(iso ? formatDate(iso) : "")}" size="10"
    placeholder="${esc(t("date_placeholder"))}" title="${esc(t("date_hint"))}" autocomplete="off" spellcheck="false"
    aria-invalid="false" aria-describedby="${describedBy}">`;
}

// The request's ETag as read with the details: a step on a request changed meanwhile answers 412.
function ifMatch(full) { return { "If-Match": full.etag || `"v${full.version}"` }; }

// A message below the details; `detail` (the API's own wording of a problem) folded away as secondary text. A
// refusal is an alert (said at once); a step's success is said by the status line (refreshAfterAction), so the
// message below the details is no live region of its own: a screen reader says it once, not twice.
function message(text, ok, detail = "") {
  const el = $("d-message");
  const more = detail ? `<details class="api-detail"><summary>${esc(t("api_detail"))}</summary>${esc(detail)}</details>` : "";
  if (el) el.innerHTML = `<div class="message ${ok ? "ok" : "err"}"${ok ? "" : ` role="alert"`}>${esc(text)}${more}</div>`;
}

// The focus was on something a step disabled or drew anew (a button of the details): it is nowhere now.
const focusLost = () => !document.activeElement || document.activeElement === document.body;

// After a step the details are drawn anew, the button pressed with them: the keyboard's focus goes to their title
// instead of the start of the page (the step's message is said by the status line; focused, it would be said twice).
function focusDetails() { $("d-title").focus(); }

// A refused step: the page's sentence, the API's detail folded below it.
function problemMessage(r, context) {
  const { own, detail } = problemParts(r, context);
  message(own, false, detail);
}

function bindDetailActions(id, full) {
  $("d-more").querySelectorAll("[data-goto]").forEach((a) => a.addEventListener("click", (e) => {
    e.preventDefault();
    select(a.dataset.goto, { fly: true, focus: true });
  }));
  const run = {
    approve: () => approve(id, full),
    reject: () => openReject(id, full),
    cancel: () => openCancel(id, full),
    lock: () => setLock(id, full, true),
    unlock: () => setLock(id, full, false),
    propose: () => proposeAt(id, full),
  };
  $("d-more").querySelectorAll("[data-action]").forEach((btn) => btn.addEventListener("click", async () => {
    btn.disabled = true; // one click, one request (disabled, the button loses the keyboard's focus)
    try { await run[btn.dataset.action](); } finally {
      btn.disabled = false;
      if (focusLost()) { if (btn.isConnected) btn.focus(); else focusDetails(); }
    }
  }));
  $("d-propose-start")?.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); $("d-more").querySelector("[data-action='propose']").click(); }
  });
  $("d-propose-start")?.addEventListener("input", (e) => e.target.setAttribute("aria-invalid", "false"));
}

async function setLock(id, full, locked) {
  const r = await api(`/v1/requests/${id}/slot/${locked ? "lock" : "unlock"}`, { method: "POST", headers: ifMatch(full) });
  if (!r.ok) return problemMessage(r, { slot: full.slot });
  await refreshAfterAction(id, t(locked ? "locked_ok" : "unlocked_ok"));
}

// A coordinator's proposal at the chosen start; the answer's warnings (rules the slot breaks) are shown with it.
async function proposeAt(id, full) {
  const field = $("d-propose-start");
  const text = field.value.trim();
  const start = parseDate(text);
  field.setAttribute("aria-invalid", String(!start));
  if (!start) {
    field.focus();
    return message(text ? t("date_invalid", { text }) : t("propose_needs_date"), false);
  }
  const r = await api(`/v1/requests/${id}/propose`, { method: "POST", headers: ifMatch(full), body: { start } });
  if (!r.ok) return problemMessage(r, { slot: { start, end: dayToIso(isoToDay(start) + full.duration_days - 1) } });
  const slot = r.data.slot || {};
  const said = localWarnings(r.data);
  const warnings = said.length ? ` ${t("warnings")}: ${said.join("; ")}` : "";
  await refreshAfterAction(id, `${t("proposed_ok", { a: formatDate(slot.start), b: formatDate(slot.end) })}${warnings}`);
}

// The 409s an approval may override: clashes with approved or locked slots (`conflicts`), a blackout or moratorium
// the slot lies in (`rule-conflict`), a precedence broken against a fixed slot (`precedence`). A lock cannot.
const OVERRIDABLE = ["slot-conflict", "rule-conflict", "precedence"];

async function approve(id, full, override = false) {
  const r = await api(`/v1/requests/${id}/approve`, { method: "POST", headers: ifMatch(full),
                                                      body: override ? { override: true } : {} });
  if (r.ok) {
    const notes = approvalNotes(r.data);
    return refreshAfterAction(id, `${t("approved_ok")}${notes.length ? ` ${t("warnings")}: ${notes.join(" ")}` : ""}`);
  }
  const type = String(r.data?.type || "").split("/").pop();
  const context = { slot: full.slot };
  if (r.status === 409 && !override && (r.data?.conflicts || OVERRIDABLE.includes(type))) {
    const yes = await ask({ title: t("override_title"), text: problemText(r, context), ok: t("override_ok"),
                            returnTo: () => $("d-more").querySelector("[data-action='approve']") });
    if (yes) return approve(id, full, true);
  }
  problemMessage(r, context);
}

// The warnings of a step's answer in the page's language: the API gives each as "German / English"; the slot's
// explanation holds the same as {de, en} pairs (the rules under `rulesKey`: those the slot lies in for a proposal,
// those an approval overrode for an approval; then the precedences it breaks against proposed slots).
function localWarnings(data, rulesKey = "rule_conflicts") {
  const said = data?.warnings || [];
  const ex = data?.slot?.explanation || {};
  const pairs = [...(ex[rulesKey] || []), ...(ex.precedence_warnings || [])].filter((p) => p && (p.de || p.en));
  if (pairs.length === said.length) return pairs.map((p) => p[language()] || p.de || p.en);
  return said;
}

// What an approval's answer says it was approved despite, in the page's language: the approved or locked slots it
// clashed with (`overridden_conflicts` of the slot's explanation, each site once), the precedences against them
// (`overridden_precedences`), then the answer's `warnings` (the blackouts and moratoriums overridden, the
// precedences broken against proposed slots). Nothing for an approval that overrode nothing.
function approvalNotes(data) {
  const ex = data?.slot?.explanation || {};
  const notes = [];
  const titles = [...new Map((ex.overridden_conflicts || []).map((c) => [c.request_id || c.title, c.title || c.request_id])).values()];
  if (titles.length) {
    const [open, close] = language() === "de" ? ["„", "“"] : ["“", "”"];
    notes.push(t("approved_despite_clash", { n: titles.length, sites: titles.map((x) => `${open}${x}${close}`).join(", ") }));
  }
  notes.push(...(ex.overridden_precedences || []).map((p) => p?.[language()] || p?.de).filter(Boolean));
  notes.push(...localWarnings(data, "overridden_rules"));
  return notes;
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

// The dialog that asks for a reason (#reject-dialog) serves two steps: `reject` (a reason code, and a text) and
// `cancel` (an active emergency reported by mistake: a text only, required, and a note of what the step does).
function reasonDialog(id, full, step) {
  const dialog = $("reject-dialog"), cancel = step === "cancel";
  dialog.dataset.id = id;
  dialog.dataset.step = step;
  dialog.dataset.etag = ifMatch(full)["If-Match"]; // the request as these details read it
  $("reject-title").textContent = t(cancel ? "cancel_emergency" : "reject");
  $("reject-send").textContent = t(cancel ? "cancel_emergency" : "send");
  $("reject-note").textContent = cancel ? t("cancel_note") : "";
  $("reject-note").hidden = !cancel;
  if (cancel) dialog.setAttribute("aria-describedby", "reject-note"); else dialog.removeAttribute("aria-describedby");
  $("reject-code-field").hidden = cancel;
  $("reject-code").disabled = cancel; // no code to give (nor to check) for a cancellation
  $("reject-text").value = "";
  $("reject-error").hidden = true;
  const button = () => $("d-more").querySelector(`[data-action='${step}']`);
  openModal(dialog, cancel ? $("reject-text") : $("reject-code"), button);
}

async function openReject(id, full) {
  const codes = (await loadReasonCodes()).filter((c) => c.use === "coordinator");
  $("reject-code").innerHTML = codes.map((c) => `<option value="${esc(c.code)}">${esc(c[language()] || c.de)}</option>`).join("");
  reasonDialog(id, full, "reject");
}

function openCancel(id, full) {
  reasonDialog(id, full, "cancel");
}

// The page's modal dialogs (the reject dialog, the questions of `ask`): Tab wraps round inside (the page behind is
// inert, but the browser would let the focus leave it), Escape cancels (the browser's own), and once closed the
// focus goes back to what opened it (`returnTo()`, looked up when it closes: the details may have been drawn anew
// meanwhile), else to the details' title; then `dialog.onanswer` hears how it was closed (`returnValue`).
function bindModal(dialog) {
  dialog.addEventListener("keydown", (e) => {
    if (e.key !== "Tab") return;
    const stops = [...dialog.querySelectorAll("input, select, textarea, button")]
      .filter((el) => !el.disabled && el.getClientRects().length);
    const first = stops[0], last = stops[stops.length - 1];
    if (e.shiftKey && document.activeElement === first) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && document.activeElement === last) { e.preventDefault(); first.focus(); }
  });
  dialog.addEventListener("close", () => {
    const back = dialog.returnTo?.();
    dialog.returnTo = null;
    // a button disabled while its step waits for the answer gets the focus back from its step (bindDetailActions:
    // the focus must not stay on a button of the closed dialog)
    if (back?.isConnected) { if (back.disabled) document.activeElement?.blur(); else back.focus(); }
    else if (!$("details").hidden) $("d-title").focus();
    const answer = dialog.onanswer;
    dialog.onanswer = null;
    answer?.(dialog.returnValue);
  });
}

function openModal(dialog, first, returnTo) {
  dialog.returnTo = returnTo;
  dialog.returnValue = ""; // Escape and "Abbrechen" leave it so
  dialog.showModal();
  first.focus();
}

// A question of the page in its own modal dialog instead of the browser's confirm() and prompt() (whose texts and
// buttons follow the browser, not the page, and which a screen reader may not relate to the page): `title`, the
// question's `text`, the label `ok` of the button that says yes and, to ask for a text, a labelled `field`
// ({label, type}) with an `error` said above the buttons. Resolves to true or false, or to the text typed (null
// when cancelled or empty). The first stop is the field, or "Abbrechen" (the answer that changes nothing).
function ask({ title, text = "", ok, field = null, error = "", returnTo = () => null }) {
  const dialog = $("ask-dialog"), input = $("ask-input");
  $("ask-title").textContent = title;
  $("ask-text").textContent = text;
  $("ask-text").hidden = !text;
  $("ask-ok").textContent = ok;
  $("ask-field").hidden = !field;
  input.disabled = !field;
  input.value = "";
  if (field) { $("ask-label").textContent = field.label; input.type = field.type || "text"; }
  $("ask-error").textContent = error;
  $("ask-error").hidden = !error;
  return new Promise((resolve) => {
    dialog.onanswer = (value) => {
      const yes = value === "ok";
      resolve(field ? (yes && input.value.trim()) || null : yes);
    };
    openModal(dialog, field ? input : $("ask-cancel"), returnTo);
  });
}

// Sends the reason dialog's step: a rejection (`reason_code`, `reason`) or an emergency's cancellation (`reason`).
async function sendReject(ev) {
  ev.preventDefault();
  const dialog = $("reject-dialog");
  const id = dialog.dataset.id;
  const cancel = dialog.dataset.step === "cancel";
  const body = cancel ? {} : { reason_code: $("reject-code").value };
  if ($("reject-text").value.trim()) body.reason = $("reject-text").value.trim();
  const error = $("reject-error");
  const missing = cancel ? !body.reason : body.reason_code === "other" && !body.reason;
  if (missing) {
    error.textContent = t(cancel ? "cancel_reason_needed" : "reject_text_needed");
    error.hidden = false;
    $("reject-text").focus();
    return;
  }
  // with the ETag read: a request changed meanwhile is not rejected unseen (412, said below the details)
  const r = await api(`/v1/requests/${id}/${cancel ? "cancel" : "reject"}`, { method: "POST", body,
                                                                         headers: { "If-Match": dialog.dataset.etag } });
  if (!r.ok && r.status === 422) { // the input was refused: say so in the dialog, keep what was typed
    error.textContent = problemText(r);
    error.hidden = false;
    return;
  }
  dialog.close();
  if (!r.ok) return problemMessage(r);
  // a cancelled emergency gives the sites it displaced or left unplaced their dates back: which they are, its
  // answer does not say (they need not be in conflict with it any more), so everything is read again
  if (cancel) return refreshAfterAction(id, t("cancelled_ok"), loadData);
  await refreshAfterAction(id, t("rejected_ok"));
}

// After a successful step: what it changed read again (`refresh`: what the step may have changed; else
// everything), the details drawn anew with its message below them, and the message said once, by the status line
// (the page's polite live region).
async function refreshAfterAction(id, text, refresh = () => refreshAfterStep(id)) {
  await reloadData(refresh);
  await select(id);
  message(text, true);
  setStatus(text);
  if (focusLost()) focusDetails();
}

// --- Gantt of a zone or corridor -----------------------------------------------------------------

// `focus`: opened from the keyboard's way (the list of zones and corridors): the focus goes to the chart's title
// and, when it closes, back to where it was.
async function openGantt(collection, id, { focus = false } = {}) {
  const r = await api(`/map/timeline/${collection}/${encodeURIComponent(id)}`);
  if (!r.ok) return;
  state.gantt = r.data;
  state.ganttReturn = focus ? document.activeElement : null;
  renderGantt();
  if (focus) $("gantt-title").focus();
}

function closeGantt() {
  const back = state.ganttReturn;
  state.gantt = null;
  state.ganttReturn = null;
  renderGantt();
  if (back?.isConnected) back.focus();
}

// The zones and corridors by name, each a button that opens its Gantt chart: the way to the chart for the keyboard
// and a screen reader (a click on a zone or a corridor on the map opens it, too).
function renderRuleList() {
  const rules = [["zones", "rule_zone"], ["corridors", "rule_corridor"]].flatMap(([group, kind]) =>
    (state.data[group]?.features || []).map((f) => ({ group, kind, id: f.properties?.id ?? f.id, name: f.properties?.name })));
  rules.sort((a, b) => String(a.name ?? "").localeCompare(String(b.name ?? ""), language()));
  $("rule-list").innerHTML = rules.length ? rules.map((r) => `<li><button type="button" data-gantt="${esc(r.group)}" data-id="${esc(r.id)}">${
    esc(r.name || r.id)} <span class="m">(${esc(t(r.kind))})</span></button></li>`).join("")
    : `<li class="empty">${esc(t("no_rules"))}</li>`;
}

// The month steps the Gantt's axis may label: every month, every second, each quarter, half year, year, …
const AXIS_STEPS = [1, 2, 3, 6, 12, 24, 60, 120, 240, 600, 1200];
let measureCanvas;

// The width (px) of a label of the axis, in the font the SVG draws it in.
function labelWidth(text) {
  measureCanvas ??= document.createElement("canvas").getContext("2d");
  measureCanvas.font = `11px ${getComputedStyle(document.documentElement).fontFamily}`;
  return measureCanvas.measureText(text).width;
}

// The axis of the Gantt chart from day `lo` to day `hi` (days since 1970): a line at the start of each month
// (only the labelled ones when months are a few pixels apart) and a label every `step` months, the least step
// that keeps the labels apart: "03/26" up to half years, the year alone from a step of a year on.
function ganttAxis(lo, hi, labelW, scale, y0, y1) {
  const monthPx = 30.44 * scale, gap = 8;
  const step = AXIS_STEPS.find((n) => n * monthPx >= labelWidth(n >= 12 ? "0000" : "00/00") + gap) ?? AXIS_STEPS.at(-1);
  const first = new Date(lo * DAY_MS);
  let axis = `<g class="axis">`;
  // k counts months since year 0: k % step == 0 puts the labels on January, April, July, October and the like
  for (let k = first.getUTCFullYear() * 12 + first.getUTCMonth() + (first.getUTCDate() > 1 ? 1 : 0); ; k++) {
    const year = Math.floor(k / 12), month = k % 12;
    const d = Date.UTC(year, month, 1) / DAY_MS;
    if (d > hi) break;
    const labelled = k % step === 0;
    if (!labelled && monthPx < 4) continue;
    const px = labelW + (d - lo) * scale;
    axis += `<line x1="${px}" x2="${px}" y1="${y0}" y2="${y1}" stroke="${labelled ? "#cfd6de" : "#e3e7ec"}"/>`;
    if (labelled) {
      const text = step >= 12 ? String(year) : `${String(month + 1).padStart(2, "0")}/${String(year % 100).padStart(2, "0")}`;
      axis += `<text x="${px + 2}" y="12">${text}</text>`;
    }
  }
  return `${axis}</g>`;
}

// Whatever the font: a label that would touch the one before it, or run past the chart's right edge, is left out.
function dropOverlappingLabels(svg, width) {
  let end = -Infinity;
  for (const label of svg.querySelectorAll(".axis text")) {
    const box = label.getBBox();
    if (box.x < end + 4 || box.x + box.width > width) label.remove();
    else end = box.x + box.width;
  }
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
  let svg = `<svg width="${width}" height="${top + sites.length * rowH + 6}" role="group" aria-label="${esc(t("timeline_of", { name: g.name }))}">`;
  svg += ganttAxis(lo, hi, labelW, scale, top - 4, top + sites.length * rowH);
  sites.forEach((s, i) => {
    const y = top + i * rowH;
    const w0 = x(s.earliest_start), w1 = x(s.latest_end) + scale;
    const when = s.slot_start ? `${t("slot")} ${t("from_to", { a: formatDate(s.slot_start), b: formatDate(s.slot_end) })}`
      : `${t("window")} ${t("from_to", { a: formatDate(s.earliest_start), b: formatDate(s.latest_end) })}`;
    const label = `${s.title}; ${when}${s.status ? `; ${v("status", s.status)}` : ""}`;
    svg += `<g class="row" data-id="${esc(s.id)}" tabindex="0" role="button" aria-label="${esc(label)}" style="cursor:pointer"><rect class="bg" x="0" y="${y}" width="${width}" height="${rowH}" fill="transparent"/>`;
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
  dropOverlappingLabels($("gantt-body").querySelector("svg"), width);
  $("gantt-body").querySelectorAll(".row").forEach((row) => {
    row.addEventListener("click", () => select(row.dataset.id, { fly: true, focus: true }));
    row.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(row.dataset.id, { fly: true, focus: true }); }
    });
  });
}

// --- time slider ----------------------------------------------------------------------------------

function initSlider() {
  const slider = $("day-slider");
  const [min, max] = sliderRange();
  slider.min = String(min); slider.max = String(max);
  const start = isoToDay(state.config.today);
  slider.value = String(start >= min && start <= max ? start : busiestDay(min, max));
  state.day = dayToIso(Number(slider.value));
  slider.addEventListener("input", () => setDay(dayToIso(Number(slider.value))));
  bindDayInput();
  $("play-button").addEventListener("click", togglePlay);
  $("all-days").addEventListener("change", (e) => { state.allDays = e.target.checked; applyFilters(); renderGantt(); });
  renderSliderLabels();
  state.sliderReady = true;
}

// The slider's period (days since 1970): the config's interval, the sites' effective dates.
function sliderRange() {
  const [lo, hi] = state.config.interval || [];
  const today = state.config.today;
  const min = isoToDay(lo || today);
  return [min, Math.max(isoToDay(hi || today), min)];
}

// The data changed (a proposal, an approval, a plan run, signing in): the slider follows the config's interval
// again; the day chosen stays when it is still inside, else it moves to the nearest end.
function updateSliderRange() {
  if (!state.sliderReady) return;
  const slider = $("day-slider");
  const [min, max] = sliderRange();
  slider.min = String(min); slider.max = String(max);
  const day = Math.min(Math.max(isoToDay(state.day), min), max);
  if (dayToIso(day) !== state.day) setDay(dayToIso(day));
  else { slider.value = String(day); renderSliderLabels(); }
}

// Reads the page's config again (the data extent and the owners change with the data and the viewer).
async function reloadConfig() {
  const cfg = await api("/map/config.json");
  if (!cfg.ok || !cfg.data) return;
  state.config = { ...state.config, ...cfg.data };
  if (!state.config.owners.includes(state.filters.owner)) state.filters.owner = "";
}

// After a step changed the data: the config (the slider's period), what the step changed (`refresh`: the
// request's site and its pairs, the sites of a plan run's area; everything without it), then the slider.
async function reloadData(refresh = loadData) {
  await reloadConfig();
  renderControls();
  await refresh();
  updateSliderRange();
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
  const input = $("day-input");
  input.placeholder = t("date_placeholder");
  input.title = t("date_hint");
  // what is being typed stays; the field shows the day again once it is entered or left
  if (document.activeElement !== input) { input.value = formatDate(state.day); showDayError(null); }
  const play = $("play-button");
  play.textContent = state.playing ? "❚❚" : "▶";
  play.setAttribute("aria-label", state.playing ? t("pause") : t("play"));
  play.title = play.getAttribute("aria-label");
  slider.setAttribute("aria-label", t("day_slider"));
  // a screen reader reads the day, not the slider's number (days since 1970)
  slider.setAttribute("aria-valuetext", formatDate(state.day));
}

// The day typed into the field beside the slider (DD.MM.YYYY or ISO, whatever the browser's language): Enter or
// leaving the field moves the slider and the filters there, as the slider does; Escape puts the shown day back.
// A text that is no date, or a day outside the slider's period, leaves the day as it is and says why.
function bindDayInput() {
  const input = $("day-input");
  const commit = () => {
    const text = input.value.trim();
    if (text === formatDate(state.day)) { showDayError(null); return; }
    const iso = parseDate(text);
    const slider = $("day-slider");
    const lo = dayToIso(Number(slider.min)), hi = dayToIso(Number(slider.max));
    if (!iso) { showDayError(t("date_invalid", { text })); return; }
    if (iso < lo || iso > hi) { showDayError(t("day_out_of_range", { a: formatDate(lo), b: formatDate(hi) })); return; }
    showDayError(null);
    if (state.playing) togglePlay();
    setDay(iso);
    input.value = formatDate(iso);
  };
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") { e.preventDefault(); commit(); }
    if (e.key === "Escape" && input.value !== formatDate(state.day)) {
      e.stopPropagation(); // the field's own Escape: the details stay open
      input.value = formatDate(state.day);
      showDayError(null);
    }
  });
  input.addEventListener("change", commit);
  // (change comes first) a field left unedited shows the day, also one the slider played on to meanwhile
  input.addEventListener("blur", () => { if (input.getAttribute("aria-invalid") !== "true") input.value = formatDate(state.day); });
  input.addEventListener("input", () => { if (input.getAttribute("aria-invalid") === "true") showDayError(null); });
}

function showDayError(text) {
  const box = $("day-error");
  box.hidden = !text;
  box.textContent = text || "";
  $("day-input").setAttribute("aria-invalid", String(!!text));
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
  $("f-status").innerHTML = state.config.statuses.map((s) => checkbox("status", s, v("status", s), f.status.has(s), STATUS_COLORS[s])).join("")
    + `<label class="unplaced-check"><input type="checkbox" data-group="unplaced" value="unplaced" ${f.unplaced ? "checked" : ""}><span class="swatch" style="background:#fff;border:2px dotted ${UNPLACED_COLOR}"></span>${esc(t("show_unplaced"))}</label>`;
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
    else if (el.dataset.group === "layers") {
      el.checked ? state.layers.add(el.value) : state.layers.delete(el.value);
      if (el.checked && LAZY_GROUPS.includes(el.value)) {
        loadLazy(el.value).catch((err) => setStatus(`${t("error")}: ${err.message}`));
      }
    }
    else if (el.dataset.group === "unplaced") state.filters.unplaced = el.checked;
    else if (el.dataset.group) {
      const set = state.filters[el.dataset.group];
      el.checked ? set.add(el.value) : set.delete(el.value);
    }
    applyFilters();
  });
  $("site-list").addEventListener("click", (e) => {
    const li = e.target.closest("li[data-id]");
    if (li) select(li.dataset.id, { fly: true, focus: true });
  });
  $("site-list").addEventListener("keydown", (e) => {
    const li = e.target.closest("li[data-id]");
    if (!li) return;
    if (e.key === "Enter" || e.key === " ") { e.preventDefault(); select(li.dataset.id, { fly: true, focus: true }); return; }
    const items = [...$("site-list").querySelectorAll("li[data-id]")];
    const at = items.indexOf(li);
    const to = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    const next = items[Math.max(0, Math.min(items.length - 1, to))];
    items.forEach((x) => x.setAttribute("tabindex", x === next ? "0" : "-1"));
    next.focus();
  });
  $("details-close").addEventListener("click", () => closeDetails());
  $("link-notice-close").addEventListener("click", () => { state.linkMissing = null; renderLinkNotice(); writeHash(null); });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || document.querySelector("dialog[open]")) return; // a dialog closes itself on Escape
    if (!$("gantt").hidden && $("gantt").contains(document.activeElement)) { closeGantt(); return; }
    if (!$("details").hidden) closeDetails();
  });
  $("legend-toggle").addEventListener("click", () => showLegend($("legend").hidden));
  $("legend-close").addEventListener("click", () => { showLegend(false); $("legend-toggle").focus(); });
  $("sidebar-toggle").addEventListener("click", () => {
    const open = document.querySelector(".sidebar").classList.toggle("open");
    $("sidebar-toggle").setAttribute("aria-expanded", String(open));
  });
  $("gantt-close").addEventListener("click", closeGantt);
  $("rule-list").addEventListener("click", (e) => {
    const button = e.target.closest("button[data-gantt]");
    if (button) openGantt(button.dataset.gantt, button.dataset.id, { focus: true });
  });
  $("reject-form").addEventListener("submit", sendReject);
  $("reject-cancel").addEventListener("click", () => $("reject-dialog").close());
  $("ask-cancel").addEventListener("click", () => $("ask-dialog").close());
  bindModal($("reject-dialog"));
  bindModal($("ask-dialog"));
  $("lang-button").addEventListener("click", () => { setLanguage(language() === "de" ? "en" : "de"); renderTexts(); });
  $("key-button").addEventListener("click", toggleKey);
  $("plan-button").addEventListener("click", startPlan);
}

// The legend beside the map (below it on phones): the map gets narrower or wider, so it is resized at once.
function showLegend(open) {
  $("legend").hidden = !open;
  $("legend-toggle").setAttribute("aria-expanded", String(open));
  if (map) map.resize();
  if (open && isPhone()) $("legend").scrollIntoView({ block: "nearest" });
}

function renderLegend() {
  const row = (swatch, label, key) => `<div${key ? ` data-legend="${key}"` : ""}>${swatch}${esc(label)}</div>`;
  const line = (color, cls = "") => `<span class="lineswatch ${cls}" style="border-color:${color}"></span>`;
  const area = (color, border, cls = "") => `<span class="areaswatch ${cls}" style="background:${color};border-color:${border}"></span>`;
  const imp = Object.entries(IMPACT_COLORS).map(([k, c]) => row(`<span class="swatch" style="background:${c}"></span>`, v("impact", k))).join("");
  const statuses = ["submitted", "slot_proposed", "accepted", "contested", "approved", "active"]
    .map((k) => row(`<span class="swatch ring" style="border-color:${STATUS_COLORS[k]}"></span>`, v("status", k))).join("");
  $("legend-body").innerHTML = `<h3>${esc(t("impact"))}</h3>${imp}
    <h3>${esc(t("status"))}</h3>
    ${row(line("#555", "dashed"), `${v("status", "submitted")} / ${v("status", "slot_proposed")}`)}
    ${row(line("#555"), `${v("status", "approved")} / ${v("status", "active")}`)}
    ${row(line(UNPLACED_COLOR, "dotted thin"), t("unplaced"), "unplaced")}
    ${row(`<span class="swatch ring dot" style="background:${IMPACT_COLORS.lane_reduction};border-color:${STATUS_COLORS.submitted}"></span>`, t("site_marker"), "marker")}
    <details class="legend-more"><summary>${esc(t("status_colours"))}</summary>${statuses}</details>
    <h3>${esc(t("l_conflicts"))}</h3>
    ${row(line("#e11d48"), t("l_conflicts"), "conflicts")}
    ${row(`<span class="haloswatch"></span>`, t("conflict_halo"), "halo")}
    ${row(`<span class="swatch dot" style="background:#e11d48;border-color:#fff"></span>`, t("conflict_marker"), "conflict-marker")}
    ${row(line("#64748b", "dashed faint"), t("conflict_partner"), "partner")}
    <h3>${esc(t("layers"))}</h3>
    ${row(line("#1d4ed8", "dashed"), t("diversion"), "diversion")}
    ${row(line("#9333ea", "dashed"), t("replacement"), "replacement")}
    ${row(line("#059669", "dotted"), t("l_opportunities"), "opportunities")}
    ${row(area("rgba(37,99,235,.07)", "#2563eb", "dashed"), t("l_zones"), "zones")}
    ${row(`<span class="lineswatch wide" style="border-color:rgba(15,118,110,.35)"></span>`, t("l_corridors"), "corridors")}
    ${row(area("rgba(180,83,9,.16)", "#92400e"), t("l_moratoriums"), "moratoriums")}
    ${row(area("rgba(55,65,81,.10)", "#374151", "dashed"), t("l_blackouts"), "blackouts")}`;
}

// The MapLibre controls' texts (tooltips and labels of zoom, attribution, scale) in the page's language.
function mapLocale() {
  return {
    "NavigationControl.ZoomIn": t("zoom_in"), "NavigationControl.ZoomOut": t("zoom_out"),
    "NavigationControl.ResetBearing": t("reset_bearing"), "AttributionControl.ToggleAttribution": t("toggle_attribution"),
    "AttributionControl.MapFeedback": t("map_feedback"), "Map.Title": t("map_label"),
  };
}

function localiseMapControls() {
  if (!map) return;
  const labels = mapLocale();
  Object.assign(map._locale || {}, labels);
  for (const [cls, key] of [["maplibregl-ctrl-zoom-in", "NavigationControl.ZoomIn"],
    ["maplibregl-ctrl-zoom-out", "NavigationControl.ZoomOut"], ["maplibregl-ctrl-compass", "NavigationControl.ResetBearing"],
    ["maplibregl-ctrl-attrib-button", "AttributionControl.ToggleAttribution"]]) {
    document.querySelectorAll(`.${cls}`).forEach((el) => {
      el.title = labels[key]; el.setAttribute("aria-label", labels[key]);
    });
  }
  map.getCanvas().setAttribute("aria-label", labels["Map.Title"]);
  map.getCanvas().setAttribute("aria-describedby", "map-description");
}

function renderTexts({ reselect = true } = {}) {
  document.querySelectorAll("[data-i18n]").forEach((el) => { el.textContent = t(el.dataset.i18n); });
  document.querySelectorAll("[data-i18n-aria]").forEach((el) => { el.setAttribute("aria-label", t(el.dataset.i18nAria)); });
  document.title = t("title");
  $("key-button").textContent = state.key ? t("key_logout") : t("key_login");
  $("who").textContent = state.me ? `${state.me.organisation.name} (${v("role", state.me.role)})` : t("public_view");
  $("plan-button").hidden = !(state.me && ["coordinator", "admin"].includes(state.me.role));
  localiseMapControls();
  if (state.config) { renderControls(); renderLegend(); renderSliderLabels(); applyFilters(); renderGantt(); }
  if (state.data.zones) renderRuleList();
  renderLoadError();
  renderLinkNotice();
  if (reselect && state.selected) select(state.selected);
}

// --- links to a site: /map/#request=<id> ---------------------------------------------------------------------
// The notices (emails, ICS `URL`, Atom entries) link to a site this way. The page keeps the address in step with
// what it shows: selecting a site writes its id into the hash, closing the details takes it out again (with
// replaceState: no history entry, no hashchange), so the address can be copied and shared in the same format.

function hashParams() { return new URLSearchParams(location.hash.replace(/^#/, "")); }

// The request id the address names (ids are lower-case UUIDs in the collections), or null.
function hashRequest() {
  const id = hashParams().get("request");
  return id && id.trim() ? id.trim().toLowerCase() : null;
}

function writeHash(id) {
  const params = hashParams();
  if (id) params.set("request", id); else params.delete("request");
  const hash = params.toString();
  const url = `${location.pathname}${location.search}${hash ? `#${hash}` : ""}`;
  if (url !== `${location.pathname}${location.search}${location.hash}`) history.replaceState(history.state, "", url);
}

function renderLinkNotice() {
  const box = $("link-notice");
  box.hidden = !state.linkMissing;
  if (!box.hidden) $("link-notice-text").textContent = t(state.key ? "link_hidden" : "link_unknown");
}

// Ticks what the site needs to pass the filters (its status, impact and kind; any owner; unplaced requests) and
// switches the sites layer on: a link to a withdrawn or completed site shows it, too.
function showInFilters(p) {
  const f = state.filters;
  let changed = false;
  for (const group of ["status", "impact", "kind"]) {
    if (p[group] != null && !f[group].has(p[group])) { f[group].add(p[group]); changed = true; }
  }
  if (f.owner && f.owner !== p.owner) { f.owner = ""; changed = true; }
  if (!f.unplaced && isUnplaced(p)) { f.unplaced = true; changed = true; }
  if (!state.layers.has("sites")) { state.layers.add("sites"); changed = true; }
  if (changed) renderControls();
}

// Shows the site the address names: the slider on the day it starts (`start` of the sites collection: the slot's
// start if a slot is proposed, locked or approved, else the start of the requested window), the filters letting
// it through, selected and the map fitted to it. A site the viewer cannot see (unknown, another organisation's
// draft, a draft without a key) gets a notice instead; its id stays in the address for a retry after signing in.
async function openLinked() {
  const id = hashRequest();
  if (!id) return;
  const f = state.sitesById.get(id);
  if (!f) {
    state.linkMissing = id;
    renderLinkNotice();
    if (state.selected || !$("details").hidden) closeDetails({ keepHash: true });
    return;
  }
  if (state.playing) togglePlay();
  showInFilters(f.properties);
  if (f.properties.start) setDay(f.properties.start.slice(0, 10));
  else applyFilters();
  await select(id, { fly: true });
}

function onHashChange() {
  const id = hashRequest();
  if (id) { if (id !== state.selected) openLinked().catch((err) => setStatus(`${t("error")}: ${err.message}`)); return; }
  // the address no longer names a site (e.g. back to /map/): nothing selected, no notice
  if (state.linkMissing) { state.linkMissing = null; renderLinkNotice(); }
  if (state.selected || !$("details").hidden) closeDetails();
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
    let error = "";
    for (;;) { // an unknown key: asked again, saying so
      const key = await ask({ title: t("key_title"), text: t("key_prompt"), ok: t("key_sign_in"), error,
                              field: { label: t("key_label"), type: "password" }, returnTo: () => $("key-button") });
      if (!key) return;
      state.key = key;
      sessionStorage.setItem("bst-key", state.key);
      if (await loadMe()) break;
      error = t("key_invalid");
    }
  }
  // the details shown belong to the old view: reload first, then show them again only if still visible; the
  // filter values (owners) are the viewer's too
  await reloadConfig();
  renderTexts({ reselect: false });
  await loadData();
  updateSliderRange();
  if (state.selected && state.sitesById.has(state.selected)) await select(state.selected);
  else if (state.linkMissing && state.linkMissing === hashRequest()) await openLinked(); // the link, now visible?
  else if (state.selected || !$("details").hidden) closeDetails();
}

// The requests a plan run may place or move (locked, approved and active slots are fixed; drafts are not planned).
const PLANNABLE = ["submitted", "slot_proposed", "contested", "accepted"];
const MAX_PLAN_DAYS = 11 * 366; // the plan API's limit (service/slots: MAX_PLAN_DAYS)

// The period of a plan run for the map area `b`: from the earliest window start to the latest window end of the
// plannable requests there whose window is still open (a plan leaves out, as "skipped", every request whose window
// reaches past its period), from today on (no slot is granted in the past) and at most MAX_PLAN_DAYS long.
// No such request: the slider's period.
function planPeriod(b) {
  const today = state.config.today;
  let lo = null, hi = null;
  for (const f of state.data.sites?.features || []) {
    const p = f.properties;
    if (!PLANNABLE.includes(p.status) || !p.earliest_start || !p.latest_end || p.latest_end < today) continue;
    const [x0, y0, x1, y1] = state.bboxes.get(f.id);
    if (x1 < b.getWest() || x0 > b.getEast() || y1 < b.getSouth() || y0 > b.getNorth()) continue;
    if (lo === null || p.earliest_start < lo) lo = p.earliest_start;
    if (hi === null || p.latest_end > hi) hi = p.latest_end;
  }
  if (lo === null) {
    const slider = $("day-slider");
    return { from: dayToIso(Number(slider.min)), to: dayToIso(Number(slider.max)), fallback: true };
  }
  if (today && lo < today) lo = today;
  if (isoToDay(hi) - isoToDay(lo) + 1 > MAX_PLAN_DAYS) hi = dayToIso(isoToDay(lo) + MAX_PLAN_DAYS - 1);
  return { from: lo, to: hi, fallback: false };
}

// What a finished plan run did, from GET /v1/plans/{id}: placed, unplaced and skipped requests, and why the skipped
// ones were left out (the API's reasons in the page's language, each once, with the sites' titles).
function planOutcome(id, run) {
  const short = id.slice(0, 8);
  if (run.status === "failed") return t("plan_failed", { id: short, error: run.error ? `: ${run.error}` : "" });
  const st = run.statistics || {};
  let text = t("plan_done", { id: short, placed: st.placed ?? 0, unplaced: st.unplaced ?? 0, skipped: st.skipped ?? 0 });
  const reasons = new Map();
  for (const [rid, why] of Object.entries(st.skipped_reasons || {})) {
    const reason = (why && typeof why === "object" ? why[language()] || why.de : why) || st.skipped_requests?.[rid] || "?";
    if (!reasons.has(reason)) reasons.set(reason, []);
    reasons.get(reason).push(state.sitesById.get(rid)?.properties.title || rid.slice(0, 8));
  }
  if (reasons.size) {
    const [open, close] = language() === "de" ? ["„", "“"] : ["“", "”"];
    const list = [...reasons].map(([reason, titles]) => {
      const named = titles.slice(0, 3).map((x) => `${open}${x}${close}`).join(", ") + (titles.length > 3 ? ", …" : "");
      return `${reason} (${named})`;
    });
    text += `. ${t("plan_skipped", { reasons: list.join(" ") })}`;
  }
  return text;
}

async function startPlan() {
  const b = map.getBounds();
  const { from, to, fallback } = planPeriod(b);
  const yes = await ask({ title: t("plan_run"), text: t("plan_confirm", { from: formatDate(from), to: formatDate(to) }),
                          ok: t("plan_start"), returnTo: () => $("plan-button") });
  if (!yes) return;
  const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((n) => Math.round(n * 1e5) / 1e5);
  const r = await api("/v1/plans", { method: "POST", body: { bbox, from, to } });
  if (!r.ok) { setStatus(problemText(r)); return; }
  setStatus(fallback ? `${t("plan_started")}. ${t("plan_nothing")}` : t("plan_started"));
  const poll = async () => {
    const p = await api(`/v1/plans/${r.data.id}`);
    if (!p.ok) return;
    if (p.data.status === "done" || p.data.status === "failed") {
      await reloadData(() => refreshBbox(bbox));
      if (state.selected && state.sitesById.has(state.selected)) await select(state.selected);
      const outcome = planOutcome(r.data.id, p.data);
      setStatus(outcome);
      return;
    }
    setStatus(t("plan_status", { id: r.data.id.slice(0, 8), status: v("plan_status", p.data.status), progress: Math.round((p.data.progress || 0) * 100) }));
    setTimeout(poll, 2000);
  };
  setTimeout(poll, 1000);
}

// --- start ----------------------------------------------------------------------------------------

async function main() {
  setLanguage(initialLanguage());
  showLegend(window.matchMedia(WIDE_QUERY).matches); // before the map is made: it takes the width that is left
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
    locale: mapLocale(),
  });
  Object.assign(window.bst, { map, select, setDay, openGantt });
  map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
  map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
  localiseMapControls();
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
  watchDetailsPanel();
  for (const id of [...SITE_LAYERS, ...PARTNER_LAYERS, ...CONFLICT_LAYERS, "zones-fill", "corridors-line"]) {
    map.on("mouseenter", id, () => { map.getCanvas().style.cursor = "pointer"; });
    map.on("mouseleave", id, () => { map.getCanvas().style.cursor = ""; });
  }
  // a link to a site (the notices': /map/#request=<id>): selected now, its fitting started before `ready` waits
  // for the map to be idle; and whenever the address names another site while the page is open
  openLinked().catch((err) => { console.error(err); setStatus(`${t("error")}: ${err.message}`); });
  window.addEventListener("hashchange", onHashChange);
  map.once("idle", () => resolveReady(true));
}

function onMapClick(e) {
  const box = [[e.point.x - 5, e.point.y - 5], [e.point.x + 5, e.point.y + 5]];
  const site = map.queryRenderedFeatures(box, { layers: [...SITE_LAYERS, ...PARTNER_LAYERS] })[0];
  if (site) return select(site.properties.id, { focus: true });
  const conflict = map.queryRenderedFeatures(box, { layers: CONFLICT_LAYERS })[0];
  if (conflict) return select(conflict.properties.site_a);
  const rule = map.queryRenderedFeatures(box, { layers: ["corridors-line", "zones-fill"] })[0];
  if (rule) return openGantt(rule.layer.id.startsWith("zones") ? "zones" : "corridors", rule.properties.id ?? rule.id);
}

main().catch((err) => { console.error(err); setStatus(`${t("error")}: ${err.message}`); });
