// The session page, live: when a server-sent event says the session's status or who is in its
// room changed from what the page shows, the parts that show them are fetched afresh, without a
// reload. A part holding a form someone is filling in is left as it is.
"use strict";
(function () {
  const PARTS = ["session-status", "presence", "attendance", "timeline", "reports", "history"];

  function busy(part) {
    const active = document.activeElement;
    if (active && active !== document.body && part.contains(active)) return true;
    return part.querySelector("form[data-dirty], details[open]") !== null;
  }

  // What an event says, in the words the page's parts note it in (data-state).
  const STATES = {
    status: ["session-status", function (data) {
      return [data.status, data.attendance_finalized].join("|");
    }],
    presence: ["presence", function (data) {
      return data.map(function (p) {
        return [p.user_id, p.in_now, p.since || "", p.reconnects].join("|");
      }).join(";");
    }],
  };

  function changes(type, data) {
    const known = STATES[type];
    if (!known) return true;
    const part = document.getElementById(known[0]);
    return !part || part.dataset.state !== known[1](data);
  }

  // Join countdowns (app.js starts those the page came with): the fresh copy's count down too.
  function countdowns() {
    document.querySelectorAll("[data-opens-at]:not([data-counting])").forEach(function (element) {
      element.dataset.counting = "";
      window.Halaqa.countdown(element);
    });
  }

  function start(root) {
    document.querySelectorAll("[data-opens-at]").forEach(function (element) {
      element.dataset.counting = "";
    });
    // After a refused form the address is the form's; live refreshes read the page's own.
    if (root.dataset.pageUrl && window.location.pathname !== root.dataset.pageUrl) {
      window.history.replaceState(null, "", root.dataset.pageUrl + window.location.hash);
    }
    document.addEventListener("input", function (event) {
      const form = event.target.closest && event.target.closest("form");
      if (form) form.dataset.dirty = "";
    });
    let waiting = false;
    async function refresh(type, data) {
      if (waiting || !changes(type, data)) return;
      waiting = true;
      // Events come in bursts (a status and its presence together): one fetch answers them.
      await new Promise(function (resolve) { window.setTimeout(resolve, 150); });
      waiting = false;
      const selector = PARTS.map(function (id) { return "#" + id; }).join(", ");
      await window.Halaqa.refresh(selector, busy);
      countdowns();
      document.dispatchEvent(new CustomEvent("halaqa:session-refreshed"));
    }
    const source = window.Halaqa.live(root.dataset.eventsUrl, refresh);
    source.addEventListener("end", function () { source.close(); });
    source.addEventListener("error", function (event) {
      // Said by the server (the session is no longer visible): stop asking.
      if (event.data) source.close();
    });
    window.addEventListener("pagehide", function () { source.close(); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const root = document.querySelector("[data-session-page]");
    if (root && root.dataset.eventsUrl) start(root);
  });
})();
