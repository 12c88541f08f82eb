// rampart's dashboard: the pages work without this script; with it, the
// bans and events tables follow the daemon live (Server-Sent Events) and
// unban buttons work in place. Text only ever goes in with textContent.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf"]').content;

  function cell(tr, text, href) {
    const td = document.createElement("td");
    if (href) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = text;
      td.appendChild(a);
    } else {
      td.textContent = text;
    }
    tr.appendChild(td);
    return td;
  }
  function prefixText(p) {
    return p.endsWith("/32") || p.endsWith("/128") ? p.slice(0, p.lastIndexOf("/")) : p;
  }
  function clock(t) {
    return t ? new Date(t).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z") : "permanent";
  }
  function empty(tbody) {
    const e = tbody.querySelector("tr.empty");
    if (e) e.remove();
  }
  function unbanForm(prefix, jail, ret) {
    const f = document.createElement("form");
    f.method = "post";
    f.action = "/unban";
    for (const [k, v] of [["csrf", csrf], ["prefix", prefix], ["jail", jail], ["return", ret]]) {
      const i = document.createElement("input");
      i.type = "hidden"; i.name = k; i.value = v;
      f.appendChild(i);
    }
    const b = document.createElement("button");
    b.className = "unban";
    b.textContent = "Unban";
    f.appendChild(b);
    return f;
  }
  function listen(query, on) {
    const es = new EventSource("/events/stream" + (query ? "?" + query : ""));
    for (const k of ["ban", "unban", "expiry", "finding", "firewall-batch", "reload", "source-error", "firewall-restored",
      "integrity-change", "host-change", "audit-result", "policy"]) {
      es.addEventListener(k, (m) => on(k, JSON.parse(m.data)));
    }
    // The page says whether it follows the daemon (tests wait for it).
    es.addEventListener("open", () => { document.body.dataset.live = "open"; });
    es.addEventListener("error", () => { document.body.dataset.live = "retrying"; });
    return es;
  }

  // The bans table: new bans at the top, lifted ones removed.
  const bans = document.getElementById("bans");
  if (bans) {
    const tbody = bans.tBodies[0];
    const total = document.getElementById("bans-total");
    const ret = bans.dataset.return;
    const find = (p, j) => [...tbody.rows].find((r) => r.dataset.prefix === p && r.dataset.jail === j);
    listen(bans.dataset.live, (kind, e) => {
      const p = prefixText(e.prefix || "");
      if (kind === "ban") {
        if (find(p, e.jail)) return;
        empty(tbody);
        const tr = document.createElement("tr");
        tr.className = "fresh";
        tr.dataset.prefix = p;
        tr.dataset.jail = e.jail || "";
        cell(tr, p, "/ip/" + encodeURIComponent(p.split("/")[0]));
        cell(tr, e.jail || "");
        cell(tr, e.origin || "");
        cell(tr, clock(e.time));
        cell(tr, clock(e.until));
        cell(tr, String(e.count || 1)).className = "num";
        cell(tr, "").appendChild(unbanForm(p, e.jail || "", ret));
        tbody.insertBefore(tr, tbody.firstChild);
        total.textContent = String(Number(total.textContent) + 1);
      } else {
        const tr = find(p, e.jail);
        if (tr) {
          tr.remove();
          total.textContent = String(Math.max(0, Number(total.textContent) - 1));
        }
      }
    });
    // Unban in place: the row goes when the daemon reports the unban.
    bans.addEventListener("submit", (ev) => {
      const f = ev.target;
      if (!f.matches('form[action="/unban"]')) return;
      ev.preventDefault();
      const btn = f.querySelector("button");
      btn.disabled = true;
      btn.textContent = "…";
      fetch("/unban", { method: "POST", body: new URLSearchParams(new FormData(f)), headers: { "X-CSRF-Token": csrf }, credentials: "same-origin" })
        .then((r) => {
          if (!r.ok) throw new Error(r.status + " " + r.statusText);
          const tr = f.closest("tr");
          if (tr && tr.isConnected) {
            tr.remove();
            total.textContent = String(Math.max(0, Number(total.textContent) - 1));
          }
        })
        .catch((err) => { btn.disabled = false; btn.textContent = "Unban (failed: " + err.message + ")"; });
    });
  }

  // The events table: new events at the top.
  const events = document.getElementById("events");
  if (events) {
    const tbody = events.tBodies[0];
    listen(events.dataset.live, (kind, e) => {
      empty(tbody);
      const tr = document.createElement("tr");
      tr.className = "fresh k-" + kind;
      cell(tr, clock(e.time));
      cell(tr, kind);
      cell(tr, e.jail || "");
      const p = e.prefix ? prefixText(e.prefix) : "";
      cell(tr, p, p ? "/ip/" + encodeURIComponent(p.split("/")[0]) : null);
      const what = cell(tr, e.summary || "");
      for (const line of e.evidence || []) {
        const pre = document.createElement("pre");
        pre.textContent = line;
        what.appendChild(pre);
      }
      tbody.insertBefore(tr, tbody.firstChild);
      while (tbody.rows.length > 1000) tbody.deleteRow(-1);
    });
  }

  // The changes table: new file and host changes at the top, those below
  // the page's severity left out.
  const changes = document.getElementById("changes");
  if (changes) {
    const tbody = changes.tBodies[0];
    const order = ["info", "low", "medium", "high", "critical"];
    const min = order.indexOf(changes.dataset.severity);
    listen(changes.dataset.live, (kind, e) => {
      if (kind !== "integrity-change" && kind !== "host-change") return;
      if (min >= 0 && order.indexOf(e.severity || "") < min) return;
      empty(tbody);
      const tr = document.createElement("tr");
      tr.className = "fresh sev-" + (e.severity || "");
      cell(tr, clock(e.time));
      cell(tr, kind === "integrity-change" ? "integrity" : "host");
      cell(tr, e.display_path || "").className = "path";
      cell(tr, e.rule || "");
      cell(tr, e.severity || "").className = "sev";
      cell(tr, e.reason || "");
      const what = cell(tr, "");
      for (const line of e.evidence || []) {
        const pre = document.createElement("pre");
        pre.textContent = line;
        what.appendChild(pre);
      }
      tbody.insertBefore(tr, tbody.firstChild);
      while (tbody.rows.length > 1000) tbody.deleteRow(-1);
    });
  }
})();
