// The device page: polls /api/status every 2 s and, per tile, latest.jpg then latest.json of the
// same frame (X-Edge-Frame), so a picture and its numbers always agree. Text goes in through
// textContent only: nothing from the server is ever parsed as HTML.
"use strict";
(() => {
  const TILE_PERIOD = 250; // ms between pictures of a tile until the server says (X-Edge-Refresh)
  const MIN_PERIOD = 100, MAX_PERIOD = 10000; // bounds on what the server may ask for
  const DOWN_PERIOD = 2000; // ms between pictures of a stream that is not running
  const STATUS_PERIOD = 2000;
  const UP = new Set(["running", "starting"]);
  const byId = (id) => document.getElementById(id);
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  // A page left open in a background tab or a locked phone asks for nothing until shown again.
  const shown = () =>
    new Promise((done) => {
      if (!document.hidden) return done();
      const wake = () => {
        if (document.hidden) return;
        document.removeEventListener("visibilitychange", wake);
        done();
      };
      document.addEventListener("visibilitychange", wake);
    });
  const get = (path) => fetch(path, { cache: "no-store", credentials: "same-origin" });
  const num = (v, digits) => (typeof v === "number" ? v.toFixed(digits) : "–");
  const tiles = new Map(); // stream name -> tile
  let status = null;
  let single = null; // the stream of the single-stream view, or null for all tiles
  let stopped = false;
  const page = { period: TILE_PERIOD }; // the last interval the server asked for, for the status poll

  function notice(text) {
    const n = byId("notice");
    n.textContent = text || "";
    n.hidden = !text;
  }

  function expired() {
    stopped = true;
    notice("Signed out (the session ended or the key changed): reload the page to sign in again.");
  }

  function stateClass(state) {
    if (UP.has(state)) return state;
    return state === "reconnecting" ? "reconnecting" : "offline";
  }

  function duration(s) {
    if (typeof s !== "number") return "–";
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${Math.floor(s % 60)}s` : `${Math.floor(s)}s`;
  }

  function describe(value) {
    if (value === null || typeof value !== "object") return String(value);
    return Object.entries(value).map(([k, v]) => `${k} ${typeof v === "object" ? JSON.stringify(v) : v}`).join(", ");
  }

  function streamOfHash() {
    const m = /^#stream=(.+)$/.exec(location.hash);
    return m ? decodeURIComponent(m[1]) : null;
  }

  // ---- header ----
  function renderHead(doc) {
    byId("uptime").textContent = duration(doc.uptime);
    const pub = doc.publisher;
    byId("mqtt").textContent = pub ? (pub.connected ? "connected" : "disconnected") : "off";
    byId("mqtt").className = pub ? (pub.connected ? "ok" : "bad") : "";
    byId("spool").textContent = doc.spool_depth === null || doc.spool_depth === undefined ? "–" : String(doc.spool_depth);
    const hosted = Object.entries(doc.hosted || {});
    byId("hosted").textContent = hosted.length
      ? hosted.map(([m, h]) => `${m}: ${h.state}, breaker ${h.breaker}`).join("; ")
      : "none";
  }

  // ---- tiles ----
  // The server slows the pictures while inference needs the CPU (docs/page.md, "Cost").
  function refreshPeriod(res) {
    const ms = Number(res.headers.get("X-Edge-Refresh"));
    return Number.isFinite(ms) && ms > 0 ? Math.min(MAX_PERIOD, Math.max(MIN_PERIOD, ms)) : TILE_PERIOD;
  }

  function makeTile(name) {
    const t = { name, frame: null, url: null, doc: null, alive: true, period: TILE_PERIOD };
    t.root = el("article", "tile");
    t.root.dataset.stream = name;
    t.view = el("a", "view");
    t.view.href = `#stream=${encodeURIComponent(name)}`;
    t.img = el("img");
    t.img.alt = `latest picture of ${name}`;
    t.off = el("span", "off", "offline");
    t.off.hidden = true;
    t.view.append(t.img, t.off);
    const body = el("div", "body");
    const title = el("div", "title");
    const link = el("a", null, name);
    link.href = t.view.href;
    t.state = el("span", "state", "…");
    title.append(link, t.state);
    t.stats = el("div", "stats");
    t.models = el("ul", "chips models");
    t.counts = el("ul", "chips counts");
    t.tracking = el("ul", "chips tracking");
    t.error = el("p", "error");
    t.error.hidden = true;
    body.append(title, t.stats, t.models, t.counts, t.tracking, t.error);
    t.root.append(t.view, body);
    return t;
  }

  function chips(list, items) {
    list.replaceChildren(...items.map(([text, bad]) => el("li", bad ? "bad" : null, text)));
  }

  function renderTileStatus(t, st, doc) {
    t.state.textContent = st.state;
    t.state.className = `state ${stateClass(st.state)}`;
    t.root.dataset.state = st.state;
    const stats = [
      ["fps in", num(st.fps_in, 1)],
      ["out", num(st.fps_out, 1)],
      ["drops", st.dropped],
      ["latency", typeof st.latency_p50 === "number" ? `${(st.latency_p50 * 1000).toFixed(0)} ms` : "–"],
    ];
    t.stats.replaceChildren(
      ...stats.map(([k, v]) => {
        const s = el("span", null, `${k} `);
        s.append(el("b", null, v));
        return s;
      }),
    );
    const models = Object.keys(st.routes || {}).sort();
    chips(
      t.models,
      models.map((m) => {
        const state = (doc.models || {})[m] || "unknown";
        const engine = (doc.engines || {})[m];
        const progress = engine && typeof engine.progress === "number" ? ` ${Math.round(engine.progress * 100)}%` : "";
        return [`${m}: ${state}${progress}`, !(state === "ready" || state === "idle")];
      }),
    );
    const tracking = st.tracking || (doc.tracking || {})[t.name];
    const marks = [];
    if (tracking && typeof tracking === "object") {
      for (const [section, entries] of Object.entries(tracking)) {
        if (entries && typeof entries === "object") {
          for (const [name, value] of Object.entries(entries)) marks.push([`${section} ${name}: ${describe(value)}`, false]);
        }
      }
    }
    chips(t.tracking, marks);
    t.error.hidden = !st.error;
    t.error.textContent = st.error || "";
  }

  function predictions(doc) {
    const rows = [];
    for (const [model, result] of Object.entries(doc.results || {}).sort()) {
      const preds = result.predictions;
      if (Array.isArray(preds)) {
        for (const p of preds) rows.push({ model, ...p });
      } else if (typeof result.top === "string") {
        rows.push({ model, class: result.top, confidence: result.confidence });
      }
    }
    return rows;
  }

  function renderFrame(t, doc) {
    const counts = new Map();
    for (const p of predictions(doc)) counts.set(p.class, (counts.get(p.class) || 0) + 1);
    chips(t.counts, [...counts.entries()].sort().map(([c, n]) => [`${c} ×${n}`, false]));
    if (single === t.name) renderTable(doc);
  }

  function renderTable(doc) {
    byId("detail-frame").textContent = String(doc.frame);
    const body = byId("detections").tBodies[0];
    body.replaceChildren(
      ...predictions(doc).map((p) => {
        const tr = el("tr");
        const cells = [p.model, p.class, num(p.confidence, 3), num(p.x, 1), num(p.y, 1), num(p.width, 1), num(p.height, 1)];
        cells.push(p.tracker_id === undefined || p.tracker_id === null ? "" : p.tracker_id);
        for (const c of cells) tr.append(el("td", null, c));
        return tr;
      }),
    );
  }

  async function refresh(t) {
    while (t.alive && !stopped) {
      await shown();
      const begun = performance.now();
      try {
        if (single === null || single === t.name) await refreshOnce(t); // a tile not shown asks for nothing
      } catch (err) {
        t.root.dataset.fetchError = String(err); // the server is gone for a moment; the status says why
      }
      const st = status && status.streams[t.name];
      const period = st && !UP.has(st.state) ? Math.max(DOWN_PERIOD, t.period) : t.period; // a stream that is down shows no new frame
      await sleep(Math.max(50, period - (performance.now() - begun)));
    }
  }

  async function refreshOnce(t) {
    const st = status && status.streams[t.name];
    const base = `/api/streams/${encodeURIComponent(t.name)}`;
    const height = single === t.name ? "" : `?height=${Math.min(360, (st && st.height) || 360)}`;
    const pic = await get(`${base}/latest.jpg${height}`);
    if (pic.status === 401) return expired();
    if (!pic.ok) return;
    t.period = refreshPeriod(pic);
    page.period = t.period;
    const frame = pic.headers.get("X-Edge-Frame");
    const blob = await pic.blob();
    t.off.hidden = pic.headers.get("X-Edge-Offline") !== "1"; // a stream gone down keeps its last frame
    if (frame === t.frame) return;
    const answer = await get(`${base}/latest.json?frame=${encodeURIComponent(frame)}`);
    if (answer.status === 401) return expired();
    if (!answer.ok) return; // the frame aged out between the two requests: the next picture will do
    const doc = await answer.json();
    const url = URL.createObjectURL(blob);
    await new Promise((done) => {
      t.img.onload = t.img.onerror = done;
      t.img.src = url;
    });
    if (t.url) URL.revokeObjectURL(t.url);
    t.url = url;
    t.frame = frame;
    t.doc = doc;
    t.img.dataset.frame = frame;
    renderFrame(t, doc);
  }

  function layout() {
    single = streamOfHash();
    document.body.classList.toggle("single", single !== null);
    byId("detail").hidden = single === null;
    for (const t of tiles.values()) {
      t.root.hidden = single !== null && single !== t.name;
      t.frame = null; // the variant changed (size): fetch a fresh picture
    }
    if (single !== null && tiles.has(single) && tiles.get(single).doc) renderTable(tiles.get(single).doc);
  }

  function sync(doc) {
    const names = Object.keys(doc.streams || {}).sort();
    const main = byId("tiles");
    for (const [name, t] of tiles) {
      if (!names.includes(name)) {
        t.alive = false;
        t.root.remove();
        tiles.delete(name);
      }
    }
    for (const name of names) {
      if (!tiles.has(name)) {
        const t = makeTile(name);
        tiles.set(name, t);
        main.append(t.root);
        t.root.hidden = single !== null && single !== name;
        refresh(t);
      }
      renderTileStatus(tiles.get(name), doc.streams[name], doc);
    }
    if (!names.length) notice("This device has no streams configured.");
  }

  async function poll() {
    while (!stopped) {
      await shown();
      try {
        const r = await get("/api/status");
        if (r.status === 401) return expired();
        if (r.ok) {
          status = await r.json();
          renderHead(status);
          sync(status);
          if (!stopped && status.streams && Object.keys(status.streams).length) notice("");
        }
      } catch (err) {
        notice("The device does not answer; retrying.");
      }
      await sleep(Math.max(STATUS_PERIOD, 2 * page.period)); // status slows with the pictures
    }
  }

  window.addEventListener("hashchange", layout);
  layout();
  poll();
})();
