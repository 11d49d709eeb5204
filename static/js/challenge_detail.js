// After a submit, show XP, level and the badges the award earned as they arrive on the live socket
// (static/js/live.js): `xp_awarded` for this attempt, then `level_up` and `badge_awarded`.
// Polling the API is the fallback for a page whose socket could not connect at all; after a drop, the
// reconnected socket replays the kept messages (level, badges) and the page reads its attempt once,
// since XP messages are not kept. Polling stops once the award is shown (or after two minutes).
(function () {
  "use strict";
  var panel = document.querySelector("[data-attempt-url]");
  if (!panel) return;
  var award = panel.querySelector("[data-award]");
  var attemptId = panel.dataset.attemptId;
  var level = panel.dataset.playerLevel;
  var shown = false, polling = false;
  var delay = 500, maxDelay = 5000, deadline = Date.now() + 120000;

  function getJSON(url) {
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function addBadge(badge) {
    var box = panel.querySelector("[data-new-badges]");
    if (!box || box.querySelector('[data-badge="' + CSS.escape(badge.slug) + '"]')) return;
    var card = element("li", "badge-card");
    card.setAttribute("data-badge", badge.slug);
    var emoji = badge.icon && badge.icon.indexOf("http") !== 0 ? badge.icon : "\u2605";
    var icon = element("span", "badge-icon", emoji);
    icon.setAttribute("aria-hidden", "true");
    var text = element("span", "badge-text");
    text.append(element("strong", "badge-name", badge.name));
    if (badge.description) text.append(element("span", "badge-description", badge.description));
    card.append(icon, text);
    box.querySelector("[data-new-badge-list]").append(card);
    var count = box.querySelectorAll("[data-badge]").length;
    box.querySelector("h3").textContent = count === 1 ? "New badge!" : "New badges!";
    box.hidden = false;
  }

  function setLevel(value) {
    level = value;
    document.querySelectorAll("[data-level], [data-level-now]").forEach(function (node) {
      node.textContent = value;
    });
  }

  function showAward(xpAwarded, totalXp) {
    var text = document.createElement("p");
    text.append("+");
    var xp = document.createElement("span");
    xp.setAttribute("data-xp-awarded", "");
    xp.textContent = xpAwarded;
    text.append(xp, " XP awarded. You are level ");
    var levelNow = document.createElement("span");
    levelNow.setAttribute("data-level-now", "");
    levelNow.textContent = level;
    text.append(levelNow, " with " + totalXp + " XP.");
    award.replaceChildren(text);
    shown = true;
  }

  document.addEventListener("skillquest:live", function (event) {
    var message = event.detail;
    if (message.type === "xp_awarded" && message.data.attempt_id === attemptId && !shown) {
      showAward(message.data.amount, message.data.total_xp);
    } else if (message.type === "level_up") {
      setLevel(message.data.level);
    } else if (message.type === "badge_awarded") {
      addBadge(message.data.badge);
    }
  });

  // Badges are awarded in the same job as the XP, after the submit: those awarded since the attempt was
  // submitted are the ones this award earned (the public progress endpoint does not say which attempt).
  function showFromApi(attempt, progress) {
    setLevel(progress.level);
    showAward(attempt.xp_awarded, progress.total_xp);
    var since = attempt.submitted_at ? Date.parse(attempt.submitted_at) : Infinity;
    (progress.badges || []).forEach(function (item) {
      if (Date.parse(item.awarded_at) >= since) addBadge(item.badge);
    });
  }

  function readOnce() {
    return getJSON(panel.dataset.attemptUrl).then(function (attempt) {
      if (attempt.xp_awarded === null || shown) return false;
      return getJSON(panel.dataset.progressUrl).then(function (progress) {
        showFromApi(attempt, progress);
        return true;
      });
    });
  }

  function poll() {
    if (shown) return;
    readOnce().then(function (done) { if (!done) schedule(); }).catch(schedule);
  }

  function schedule() {
    if (shown || Date.now() > deadline) return;  // the page still says "pending"; a reload shows the result
    delay = Math.min(delay * 1.5, maxDelay);
    window.setTimeout(poll, delay);
  }

  document.addEventListener("skillquest:live-down", function (event) {
    if (!event.detail.everOpened && !polling && !shown) {
      polling = true;
      window.setTimeout(poll, delay);
    }
  });
  document.addEventListener("skillquest:live-up", function (event) {
    if (event.detail.reconnected && !shown) readOnce().catch(function () {});
  });
})();
