// Shared by every page: API calls with the CSRF token, live updates over server-sent events,
// and Join countdowns that ask the server again when they reach zero.
"use strict";
window.Halaqa = (function () {
  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  async function api(url, options) {
    const init = Object.assign({ method: "GET", credentials: "same-origin", headers: {} }, options || {});
    init.headers = Object.assign({ "Accept": "application/json", "X-CSRF-Token": csrf() }, init.headers);
    if (init.body !== undefined && typeof init.body !== "string") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(init.body);
    }
    const response = await fetch(url, init);
    const text = await response.text();
    const data = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = new Error((data && data.error && data.error.message) || response.statusText);
      error.status = response.status;
      error.code = data && data.error && data.error.code;
      error.details = data && data.error && data.error.details;
      throw error;
    }
    return data;
  }

  // Calls onEvent(type, data) for each server-sent event; the browser reconnects by itself.
  function live(url, onEvent) {
    const source = new EventSource(url, { withCredentials: true });
    ["status", "presence", "attendance"].forEach(function (type) {
      source.addEventListener(type, function (event) {
        let data = null;
        try { data = JSON.parse(event.data); } catch (e) { data = event.data; }
        onEvent(type, data);
      });
    });
    return source;
  }

  // Replaces an element with the same element from a fresh copy of the page (no reload).
  // keep(element), if given, may leave an element as it is when the copy arrives (say,
  // someone is typing in it).
  async function refresh(selector, keep) {
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    document.querySelectorAll(selector).forEach(function (old) {
      if (keep && keep(old)) return;
      const replacement = old.id ? fresh.getElementById(old.id) : null;
      if (replacement) old.replaceWith(replacement);
    });
  }

  function formatLeft(seconds) {
    const h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    const two = function (n) { return String(n).padStart(2, "0"); };
    return (h > 0 ? h + ":" + two(m) : String(m)) + ":" + two(s);
  }

  function countdown(element) {
    const container = element.closest("[data-join]");
    const opensAt = Date.parse(element.dataset.opensAt);
    // The server's clock decides; the browser only measures time passing since the page came.
    const offset = Date.parse(element.dataset.now) - Date.now();
    const left = element.querySelector("[data-countdown-left]");
    let asking = false;
    async function tick() {
      const seconds = Math.max(0, Math.round((opensAt - (Date.now() + offset)) / 1000));
      if (left) left.textContent = "(" + formatLeft(seconds) + ")";
      if (seconds > 0 || asking) return;
      asking = true;
      try {
        const session = await api(container.dataset.sessionUrl);
        if (session.join.allowed) {
          const button = document.createElement("a");
          button.className = "button primary";
          button.href = container.dataset.classroom;
          button.dataset.joinButton = "";
          button.textContent = container.dataset.joinLabel || element.dataset.joinLabel || "Join";
          element.replaceWith(button);
          clearInterval(timer);
          return;
        }
      } catch (e) { /* asked again on the next tick */ }
      asking = false;
    }
    const timer = setInterval(tick, 1000);
    tick();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-opens-at]").forEach(countdown);
  });

  return { csrf: csrf, api: api, live: live, refresh: refresh, countdown: countdown };
})();
