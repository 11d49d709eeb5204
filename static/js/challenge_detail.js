// After a submit, poll the attempt until the worker has awarded its XP, then show XP and level.
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
