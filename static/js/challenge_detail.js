// After a submit, poll the attempt until the worker has awarded its XP, then show XP, level and the
// badges that award earned; polling stops once the award is shown (or after two minutes).
(function () {
  "use strict";
  var panel = document.querySelector("[data-attempt-url]");
  if (!panel) return;
  var award = panel.querySelector("[data-award]");
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

  // Badges are awarded in the same job as the XP, after the submit: those awarded since the attempt was
  // submitted are the ones this award earned (the public progress endpoint does not say which attempt).
  function showBadges(attempt, earned) {
    var box = panel.querySelector("[data-new-badges]");
    if (!box || !attempt.submitted_at) return;
    var since = Date.parse(attempt.submitted_at);
    var mine = earned.filter(function (item) { return Date.parse(item.awarded_at) >= since; });
    if (!mine.length) return;
    var list = box.querySelector("[data-new-badge-list]");
    mine.forEach(function (item) {
      var card = element("li", "badge-card");
      card.setAttribute("data-badge", item.badge.slug);
      var emoji = item.badge.icon && item.badge.icon.indexOf("http") !== 0 ? item.badge.icon : "\u2605";
      var icon = element("span", "badge-icon", emoji);
      icon.setAttribute("aria-hidden", "true");
      var text = element("span", "badge-text");
      text.append(element("strong", "badge-name", item.badge.name));
      if (item.badge.description) text.append(element("span", "badge-description", item.badge.description));
      card.append(icon, text);
      list.append(card);
    });
    box.querySelector("h3").textContent = mine.length === 1 ? "New badge!" : "New badges!";
    box.hidden = false;
  }

  function show(attempt, progress) {
    var text = document.createElement("p");
    text.append("+");
    var xp = document.createElement("span");
    xp.setAttribute("data-xp-awarded", "");
    xp.textContent = attempt.xp_awarded;
    text.append(xp, " XP awarded. You are level ");
    var level = document.createElement("span");
    level.setAttribute("data-level-now", "");
    level.textContent = progress.level;
    text.append(level, " with " + progress.total_xp + " XP.");
    award.replaceChildren(text);
    document.querySelectorAll("[data-level]").forEach(function (node) { node.textContent = progress.level; });
    showBadges(attempt, progress.badges || []);
  }

  function poll() {
    getJSON(panel.dataset.attemptUrl)
      .then(function (attempt) {
        if (attempt.xp_awarded === null) return schedule();
        return getJSON(panel.dataset.progressUrl).then(function (progress) { show(attempt, progress); });
      })
      .catch(schedule);
  }

  function schedule() {
    if (Date.now() > deadline) return;  // the page still says "pending"; a reload shows the result
    delay = Math.min(delay * 1.5, maxDelay);
    window.setTimeout(poll, delay);
  }

  window.setTimeout(poll, delay);
})();
