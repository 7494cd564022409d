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
