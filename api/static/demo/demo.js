// The rails preview page: plain JavaScript over the rails API, no build step.
// State lives in the URL (?user=...&now=...), so a view can be linked and reloaded.
"use strict";

const LIMIT = 12;
const UNKNOWN_USER = "someone-new";
// The Neo4j Browser style's colours (api/static/browser/graphrails.grass).
const LABEL_COLOURS = {
  User: "#4C8EDA", Program: "#F79767", Channel: "#57C7E3",
  Genre: "#8DCC93", Bundle: "#C990C0", Series: "#FFC454",
};
const KIND_COLOURS = {
  subscription: "#7b4fa8", free_bundle: "#b261a5", genre: "#3f9b4a",
  co_watch: "#d9622b", series: "#c79a10",
};
const KIND_NAMES = {
  subscription: "access through a subscription", free_bundle: "access through a free bundle",
  genre: "a genre you watch", co_watch: "watched by people who watched what you watched",
  series: "a series you watch",
};

const $ = (id) => document.getElementById(id);
let current = { user: "", now: "" };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

async function api(path, params) {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== null && value !== undefined && value !== "") query.set(key, value);
  }
  if (current.now) query.set("now", current.now);
  const qs = query.toString();
  const response = await fetch(qs ? `${path}?${qs}` : path);
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && body.detail ? JSON.stringify(body.detail) : response.statusText;
    throw new Error(`${path}: ${response.status} ${detail}`);
  }
  return body;
}

function showMessage(text) {
  const box = $("message");
  box.textContent = text || "";
  box.hidden = !text;
}

// ------------------------------------------------------------------ users
async function loadUsers() {
  const list = $("user-list");
  try {
    const { users } = await api("/demo/users");
    list.replaceChildren(
      el("option", { value: "" }, "choose a user…"),
      ...users.map((u) => el("option", { value: u.user_id },
        `${u.user_id} · ${u.profile || "?"} (${u.csa_ceiling || "?"}) · ${u.watched} watched` +
        (u.bundles.length ? ` · ${u.bundles.join(", ")}` : ""))),
      el("option", { value: UNKNOWN_USER }, `${UNKNOWN_USER} · unknown user (anonymous rules)`),
    );
  } catch (error) {
    list.replaceChildren(el("option", { value: UNKNOWN_USER }, `${UNKNOWN_USER} · unknown user`));
    showMessage(`Could not list users: ${error.message}`);
  }
  if (current.user) list.value = current.user;
}

// ------------------------------------------------------------------ rails
async function showUser(user) {
  showMessage("");
  current.user = user;
  const url = new URL(window.location.href);
  url.searchParams.set("user", user);
  if (current.now) url.searchParams.set("now", current.now); else url.searchParams.delete("now");
  window.history.replaceState(null, "", url);
  $("rails").replaceChildren(el("p", { class: "rail empty" }, "Loading rails…"));
  const enc = encodeURIComponent(user);
  const requests = [
    api(`/v1/users/${enc}/rails/home`, { limit: LIMIT }).then((r) => [r]),
    api(`/v1/users/${enc}/rails/because-you-watched`, { limit: LIMIT }).then((r) => r.rails),
    api("/v1/rails/popular", { user_id: user, limit: LIMIT }).then((r) => [r]),
    api("/v1/rails/best-of-bundle", { user_id: user, limit: LIMIT }).then((r) => [r]),
    api(`/v1/users/${enc}/rails/top-replay`, { limit: LIMIT }).then((r) => [r]),
  ];
  const results = await Promise.allSettled(requests);
  const rails = [];
  const errors = [];
  for (const result of results) {
    if (result.status === "fulfilled") rails.push(...result.value);
    else errors.push(result.reason.message);
  }
  if (errors.length) showMessage(errors.join("\n"));
  summarise(user, rails);
  $("rails").replaceChildren(...rails.map(renderRail));
  document.body.dataset.loaded = user;
}

function summarise(user, rails) {
  const option = [...$("user-list").options].find((o) => o.value === user);
  const home = rails.find((r) => r.rail === "home");
  const parts = [el("b", {}, user)];
  if (user === UNKNOWN_USER) parts.push(" — not in the graph: anonymous rules (free bundle, default CSA ceiling)");
  else if (option) parts.push(" — ", option.textContent.split(" · ").slice(1).join(" · "));
  if (home) parts.push(` · model ${home.model_version || "none (non-personalised)"}`);
  $("user-summary").replaceChildren(...parts);
}

function renderRail(rail) {
  const anchor = rail.anchor_program_id ? ` · anchor ${rail.anchor_program_id}` : "";
  const head = el("div", { class: "rail-head" },
    el("h2", {}, rail.title),
    el("span", { class: "meta" }, `${rail.rail} · sources: ${rail.sources.join(" → ") || "none"}${anchor}`));
  const body = rail.items.length
    ? el("div", { class: "row" }, rail.items.map((item) => renderCard(item, rail)))
    : el("p", { class: "empty" }, `Empty: ${rail.empty_reason || "no reason given"}`);
  return el("section", { class: "rail", "data-rail": rail.rail, "data-anchor": rail.anchor_program_id },
    head, body);
}

function when(item) {
  if (!item.available_from) return "";
  const date = new Date(item.available_from);
  const text = date.toLocaleString("en-GB", {
    weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit", timeZone: "UTC",
  });
  return item.availability === "live" ? `${text} UTC` : `since ${text} UTC`;
}

function renderCard(item, rail) {
  const episode = item.series_title
    ? `${item.series_title} · S${item.season ?? "?"} E${item.episode ?? "?"}` : null;
  const badges = el("div", { class: "badges" },
    item.csa ? el("span", { class: `csa csa-${item.csa}`, title: `CSA ${item.csa}` }, item.csa) : null,
    item.availability ? el("span", { class: `tag ${item.availability}` }, item.availability) : null,
    item.backfill
      ? el("span", { class: "tag backfill", title: "The rail's first source ran short" }, `backfill · ${item.source}`)
      : null);
  const where = [item.channel_name, item.genres.join(", ")].filter(Boolean).join(" · ");
  return el("article", { class: `card${item.backfill ? " backfill" : ""}`, "data-program": item.program_id },
    badges,
    el("div", { class: "title" }, item.title),
    episode ? el("div", { class: "episode" }, episode) : null,
    el("div", { class: "where" }, where),
    el("div", { class: "where" }, when(item)),
    el("p", { class: "explanation" }, item.explanation.text,
      el("span", { class: "kind" }, item.explanation.type.replaceAll("_", " "))),
    el("div", { class: "actions" },
      el("button", { type: "button", class: "why-button", onclick: () => showWhy(item) }, "why?"),
      el("button", { type: "button", class: "similar-button", onclick: () => showSimilar(item) }, "similar")));
}

async function showSimilar(item) {
  showMessage("");
  try {
    const rail = await api(`/v1/programs/${encodeURIComponent(item.program_id)}/similar`,
      { user_id: current.user === UNKNOWN_USER ? "" : current.user, limit: LIMIT });
    const old = document.querySelector('.rail[data-rail="similar"]');
    if (old) old.remove();
    const section = renderRail(rail);
    $("rails").prepend(section);
    section.scrollIntoView({ behavior: "smooth", block: "start" });
  } catch (error) {
    showMessage(error.message);
  }
}

// ------------------------------------------------------------------ why?
async function showWhy(item) {
  $("why-title").textContent = `Why “${item.title}” for ${current.user}?`;
  $("why-sentence").textContent = item.explanation.text;
  $("why-status").textContent = "Reading the graph…";
  $("why-legend").replaceChildren();
  $("why-graph").replaceChildren();
  $("why-cypher").textContent = "";
  $("why-browser").removeAttribute("href");
  $("why").hidden = false;
  try {
    const found = await api("/demo/explain-graph", { user_id: current.user, program_id: item.program_id });
    const { explain, graph } = found;
    $("why-status").replaceChildren(
      explain.eligible
        ? el("span", { class: "ok" }, "Eligible now: it passes every rule (bundle, CSA, blacklists, availability).")
        : el("span", { class: "no" }, "Not eligible now for this user."),
      ` ${explain.paths.length} supporting path${explain.paths.length === 1 ? "" : "s"} in the graph.`,
      explain.known_user ? "" : ` A visitor the graph does not know: the free bundles and CSA ceiling ${explain.csa_ceiling}.`);
    $("why-legend").replaceChildren(...graph.kinds.map((kind) =>
      el("span", {}, el("i", { style: `background:${KIND_COLOURS[kind] || "#888"}` }), KIND_NAMES[kind] || kind)));
    $("why-graph").replaceChildren(drawGraph(graph, item.program_id));
    $("why-cypher").textContent = found.browser_cypher;
    $("why-browser").href = found.browser_link;
  } catch (error) {
    $("why-status").replaceChildren(el("span", { class: "no" }, error.message));
  }
}

function caption(node) {
  const text = node.name || node.id || node.label;
  return text.length > 22 ? `${text.slice(0, 21)}…` : text;
}

function drawGraph(graph, programId) {
  if (!graph.nodes.length) return el("p", {}, "No path links this user to this program in the graph.");
  const byId = Object.fromEntries(graph.nodes.map((n) => [n.element_id, n]));
  const root = svg("svg", {
    viewBox: `0 0 ${graph.width} ${graph.height}`, role: "img",
    "aria-label": "The graph paths behind the explanation",
  });
  const defs = svg("defs", {});
  for (const [kind, colour] of Object.entries(KIND_COLOURS)) {
    defs.append(svg("marker", {
      id: `arrow-${kind}`, viewBox: "0 0 10 10", refX: "10", refY: "5",
      markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse",
    }, svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: colour })));
  }
  root.append(defs);
  const radius = 15;
  for (const edge of graph.edges) {
    const a = byId[edge.start];
    const b = byId[edge.end];
    if (!a || !b) continue;
    const kind = edge.kinds[0];
    const dx = b.x - a.x;
    const dy = b.y - a.y;
    const length = Math.hypot(dx, dy) || 1;
    const x2 = b.x - (dx / length) * (radius + 2);
    const y2 = b.y - (dy / length) * (radius + 2);
    root.append(svg("line", {
      x1: a.x, y1: a.y, x2, y2, stroke: KIND_COLOURS[kind] || "#888", "stroke-width": "2",
      "marker-end": `url(#arrow-${kind})`, class: "edge",
    }));
    root.append(svg("text", {
      x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 - 4, "text-anchor": "middle",
      "font-size": "9", fill: "#555", class: "rel",
    }, edge.type));
  }
  for (const node of graph.nodes) {
    const focus = node.label === "User" && node.column === 0 || node.id === programId;
    const group = svg("g", { class: "node", "data-label": node.label });
    group.append(svg("title", {}, `${node.label} ${node.id || ""} ${node.name || ""}`.trim()));
    group.append(svg("circle", {
      cx: node.x, cy: node.y, r: focus ? radius + 4 : radius,
      fill: LABEL_COLOURS[node.label] || "#A5ABB6", stroke: focus ? "#222" : "#fff", "stroke-width": focus ? "3" : "2",
    }));
    group.append(svg("text", {
      x: node.x, y: node.y + radius + 16, "text-anchor": "middle", "font-size": "11",
      fill: "#222", "font-weight": focus ? "700" : "400",
    }, caption(node)));
    root.append(group);
  }
  return root;
}

// ------------------------------------------------------------------ start
function start() {
  const params = new URLSearchParams(window.location.search);
  current.now = params.get("now") || "";
  current.user = params.get("user") || "";
  $("now").value = current.now;
  $("user-id").value = current.user;
  $("user-list").addEventListener("change", (event) => {
    $("user-id").value = event.target.value;
    if (event.target.value) $("pick").requestSubmit();
  });
  $("pick").addEventListener("submit", (event) => {
    event.preventDefault();
    current.now = $("now").value.trim();
    const user = $("user-id").value.trim() || $("user-list").value;
    if (user) showUser(user); else showMessage("Pick a user or type an id.");
  });
  $("why-close").addEventListener("click", () => { $("why").hidden = true; });
  $("why").addEventListener("click", (event) => { if (event.target === $("why")) $("why").hidden = true; });
  document.addEventListener("keydown", (event) => { if (event.key === "Escape") $("why").hidden = true; });
  loadUsers().then(() => { if (current.user) showUser(current.user); });
}

start();
