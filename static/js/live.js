// The live socket of a signed-in player's page (/ws/live/, progress/live/). It keeps the bell's count,
// shows a toast for a badge, a level-up or a quest done, and hands every message to the page's own script as a
// "skillquest:live" event. "skillquest:live-up" and "skillquest:live-down" tell whether it is open:
// a page that needs its data falls back to polling only if it has never opened (`everOpened`).
// After a drop it reconnects (with back-off) and asks for every kept message after the last id it saw.
(function () {
  "use strict";
  var body = document.body;
  var base = body.dataset.liveUrl || (location.protocol === "https:" ? "wss://" : "ws://") + location.host;
  var url = base + "/ws/live/";
  var lastId = parseInt(body.dataset.liveLastId || "0", 10) || 0;
  var seen = {};
  var failures = 0, everOpened = false;
  var REFUSED = 4401, THROTTLED = 4429, MAX_DELAY = 10000;

  function emit(name, detail) {
    document.dispatchEvent(new CustomEvent(name, { detail: detail }));
  }

  function bumpBell() {
    var bell = document.querySelector("[data-bell]");
    var count = bell && bell.querySelector("[data-unread-count]");
    if (!count) return;
    var unread = (parseInt(count.textContent, 10) || 0) + 1;
    count.textContent = unread;
    count.hidden = false;
    bell.setAttribute("aria-label", "Notifications, " + unread + " unread");
  }

  function toast(icon, text) {
    var box = document.querySelector("[data-toasts]");
    if (!box) return;
    var item = document.createElement("div");
    item.className = "toast";
    item.setAttribute("data-toast", "");
    var glyph = document.createElement("span");
    glyph.setAttribute("aria-hidden", "true");
    glyph.textContent = icon;
    var words = document.createElement("span");
    words.textContent = text;
    item.append(glyph, words);
    box.append(item);
    window.setTimeout(function () { item.remove(); }, 8000);
  }

  function handle(message) {
    if (message.id !== null && message.id !== undefined) {
      if (seen[message.id]) return;  // pushed live and found again by a resume
      seen[message.id] = true;
      lastId = Math.max(lastId, message.id);
      bumpBell();
    }
    if (message.type === "badge_awarded") {
      var badge = message.data.badge;
      var icon = badge.icon && badge.icon.indexOf("http") !== 0 ? badge.icon : "\u2605";
      toast(icon, "New badge: " + badge.name);
    } else if (message.type === "level_up") {
      toast("\u2B06", "Level " + message.data.level + "!");
    } else if (message.type === "quest_completed") {
      toast("\u2714", "Quest done: " + message.data.name + " (+" + message.data.reward_xp + " XP)");
    }
    emit("skillquest:live", message);
  }

  function retryDelay(event) {
    var asked = event.code === THROTTLED && /(\d+)/.exec(event.reason || "");
    if (asked) return parseInt(asked[1], 10) * 1000;
    failures += 1;
    var delay = Math.min(MAX_DELAY, 500 * Math.pow(2, failures - 1));
    return delay / 2 + Math.random() * delay / 2;  // spread the reconnects of many pages after a restart
  }

  function connect() {
    var socket;
    try {
      socket = new WebSocket(url);
    } catch (error) {
      emit("skillquest:live-down", { everOpened: everOpened, final: true });
      return;
    }
    socket.addEventListener("open", function () {
      failures = 0;
      socket.send(JSON.stringify({ type: "resume", last_id: lastId }));
      emit("skillquest:live-up", { reconnected: everOpened });
      everOpened = true;
    });
    socket.addEventListener("message", function (event) {
      var message;
      try { message = JSON.parse(event.data); } catch (error) { return; }
      if (message && message.type !== "error") handle(message);
    });
    socket.addEventListener("close", function (event) {
      var final = event.code === REFUSED;  // signed out meanwhile: a reload shows the login link
      emit("skillquest:live-down", { everOpened: everOpened, final: final, code: event.code });
      if (!final) window.setTimeout(connect, retryDelay(event));
    });
  }

  if (!("WebSocket" in window)) {
    document.addEventListener("DOMContentLoaded", function () {
      emit("skillquest:live-down", { everOpened: false, final: true });
    });
    return;
  }
  // After every deferred page script has run, so that each is listening before the first message.
  document.addEventListener("DOMContentLoaded", connect);
})();
