// The meeting check-in page: polls the counts endpoint and shows 实到 / 应到 (and 列席) as members scan.
(function () {
  "use strict";
  var sheet = document.getElementById("checkin-sheet");
  if (!sheet) { return; }
  var url = sheet.getAttribute("data-counts");
  var every = parseInt(sheet.getAttribute("data-poll"), 10) || 5000;

  function set(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = String(value); }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) {
        if (data) {
          set("count-present", data.present);
          set("count-expected", data.expected);
          set("count-guests", data.guests);
          var box = document.getElementById("guests-box");
          if (box && data.guests) { box.hidden = false; }
        }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, every); });
  }

  window.setTimeout(poll, every);
}());
