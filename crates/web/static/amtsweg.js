// Progressive enhancement only: every page works without this file.
// Adds search suggestions to inputs with data-autocomplete through a <datalist>.
(function () {
  "use strict";
  var inputs = document.querySelectorAll("input[data-autocomplete]");
  Array.prototype.forEach.call(inputs, function (input, n) {
    var list = document.createElement("datalist");
    list.id = "vorschlaege-" + n;
    input.setAttribute("list", list.id);
    input.parentNode.appendChild(list);
    var timer = null;
    input.addEventListener("input", function () {
      clearTimeout(timer);
      var q = input.value.trim();
      if (q.length < 2) { return; }
      timer = setTimeout(function () {
        fetch(input.getAttribute("data-autocomplete") + "?q=" + encodeURIComponent(q), { headers: { "Accept": "application/json" } })
          .then(function (r) { return r.ok ? r.json() : { hits: [] }; })
          .then(function (data) {
            list.textContent = "";
            (data.hits || []).slice(0, 8).forEach(function (h) {
              var o = document.createElement("option");
              o.value = h.title;
              list.appendChild(o);
            });
          })
          .catch(function () {});
      }, 150);
    });
  });
})();
// Session expiry warning (the time is also printed in the page for everyone).
(function () {
  "use strict";
  var bar = document.querySelector("[data-session-ends]");
  if (!bar) { return; }
  var ends = parseInt(bar.getAttribute("data-session-ends"), 10);
  var box = bar.querySelector(".session-warning");
  if (!ends || !box) { return; }
  var warned = false;
  setInterval(function () {
    var left = ends - Date.now();
    if (!warned && left < 5 * 60 * 1000 && left > 0) {
      warned = true;
      box.textContent = "Achtung: Ihre Sitzung endet in weniger als 5 Minuten. Speichern Sie Ihre Eingaben oder laden Sie die Seite neu, um angemeldet zu bleiben.";
    }
    if (left <= 0) {
      box.textContent = "Ihre Sitzung ist abgelaufen. Bitte melden Sie sich erneut an.";
    }
  }, 15000);
})();

// Forms marked data-autosubmit (the hand-over to an ID provider) go off at once;
// without JavaScript the citizen presses their button.
document.querySelectorAll("form[data-autosubmit]").forEach((f) => f.submit());
