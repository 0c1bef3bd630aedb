/* The release page's own script: search and sort the tables, the structure on any day, paged
   previews. Everything it shows is already in the page without it; it only reads the page's
   embedded data (no request leaves the page), and writes text, never markup. */
(function () {
  "use strict";
  var PAGE = 10;

  function cellValue(row, index, numeric) {
    var cell = row.cells[index];
    if (!cell) { return numeric ? -Infinity : ""; }
    var text = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (numeric) {
      var n = parseFloat(String(text).replace(/,/g, ""));
      return isNaN(n) ? -Infinity : n;
    }
    return String(text).trim().toLowerCase();
  }

  function makeSortable(table) {
    var headers = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(headers, function (th, index) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headers, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var numeric = th.getAttribute("data-type") === "num";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          var order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      });
    });
  }

  function makeSearchable(input) {
    var table = document.getElementById(input.getAttribute("data-filter"));
    var found = document.getElementById(table.id + "-found");
    input.closest(".tool").hidden = false;
    function filter() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var text = row.textContent.toLowerCase();
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        row.hidden = !match;
        if (match) { shown += 1; }
      });
      found.textContent = shown + " of " + table.tBodies[0].rows.length + " shown";
    }
    input.addEventListener("input", filter);
    filter();
  }

  /* A day known exactly or between bounds: [exact, earliest, latest], ISO text ("" if none). */
  function lo(m) { return m[0] || m[1]; }
  function hi(m) { return m[0] || m[2]; }
  function known(m) { return Boolean(m[0] || m[1] || m[2]); }
  function definitelyOn(start, end, day) {
    if (!hi(start) || hi(start) > day) { return false; }
    if (!known(end)) { return true; }
    return Boolean(lo(end)) && lo(end) >= day;
  }
  function possiblyOn(start, end, day) {
    if (lo(start) && lo(start) > day) { return false; }
    if (!known(end)) { return true; }
    return !hi(end) || hi(end) >= day;
  }

  function structureOn(data, day) {
    /* ics-data as-at's rule: the ICS's own PCNs, and other ICBs' PCNs one of its practices was
       in; before its ICB's first day, a practice of another area then is no member */
    var members = {}, possible = {}, elsewhere = {}, outside = {};
    if (data.since && day < data.since) {
      (data.outside || []).forEach(function (code) { outside[code] = true; });
    }
    data.memberships.forEach(function (m) {
      var start = m.slice(2, 5), end = m.slice(5, 8);
      if (outside[m[0]]) { if (definitelyOn(start, end, day)) { elsewhere[m[1]] = true; } }
      else if (definitelyOn(start, end, day)) { members[m[1]] = (members[m[1]] || 0) + 1; }
      else if (possiblyOn(start, end, day)) { possible[m[1]] = (possible[m[1]] || 0) + 1; }
    });
    var open = data.pcns.filter(function (p) {
      var own = p.length < 10 || p[9] === 1;
      var listed = (members[p[0]] || 0) > 0 || (own && !elsewhere[p[0]]);
      return listed && definitelyOn(p.slice(3, 6), p.slice(6, 9), day);
    }).map(function (p) {
      return { code: p[0], name: p[1], partnership: p[2],
               members: members[p[0]] || 0, possible: possible[p[0]] || 0 };
    });
    open.sort(function (a, b) {
      return a.partnership < b.partnership ? -1 : a.partnership > b.partnership ? 1 :
        a.name < b.name ? -1 : a.name > b.name ? 1 : a.code < b.code ? -1 : a.code > b.code ? 1 : 0;
    });
    return open;
  }

  function cell(tag, text, className) {
    var element = document.createElement(tag);
    element.textContent = text;
    if (className) { element.className = className; }
    return element;
  }

  function asAt(data) {
    var form = document.getElementById("asat-form");
    var input = document.getElementById("asat-date");
    if (!form || !input) { return; }
    form.hidden = false;
    form.addEventListener("submit", function (event) { event.preventDefault(); });
    function show() {
      var day = input.value;
      if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || day < input.min || day > input.max) { return; }
      var open = structureOn(data, day);
      var practices = open.reduce(function (n, p) { return n + p.members; }, 0);
      document.getElementById("asat-count").textContent = String(open.length);
      document.getElementById("asat-day").textContent = day;
      document.getElementById("asat-practices").textContent = String(practices);
      var body = document.getElementById("asat-table").tBodies[0];
      while (body.firstChild) { body.removeChild(body.firstChild); }
      open.forEach(function (p) {
        var row = document.createElement("tr");
        row.appendChild(cell("td", data.partnerships[p.partnership] || p.partnership));
        row.appendChild(cell("th", p.name));
        row.lastChild.scope = "row";
        var code = document.createElement("td");
        code.appendChild(cell("code", p.code));
        row.appendChild(code);
        row.appendChild(cell("td", String(p.members), "num"));
        row.appendChild(cell("td", String(p.possible), "num"));
        body.appendChild(row);
      });
    }
    input.addEventListener("input", show);
    input.addEventListener("change", show);
  }

  function pagedPreview(box) {
    var source = document.getElementById("rows-" + box.getAttribute("data-preview"));
    if (!source) { return; }  /* a table too long to carry in the page: its first rows only */
    var rows = JSON.parse(source.textContent);  /* the rows only: the header is in the table */
    var pager = box.querySelector(".pager");
    var table = box.querySelector("table");
    var body = table.tBodies[0];
    var start = 0;
    if (rows.length <= PAGE) { return; }
    pager.hidden = false;
    function show() {
      while (body.firstChild) { body.removeChild(body.firstChild); }
      rows.slice(start, start + PAGE).forEach(function (values) {
        var row = document.createElement("tr");
        values.forEach(function (value) {
          var td = cell("td", value);
          td.title = value;
          row.appendChild(td);
        });
        body.appendChild(row);
      });
      var last = Math.min(start + PAGE, rows.length);
      table.querySelector("caption .from").textContent = String(start + 1);
      table.querySelector("caption .to").textContent = String(last);
      pager.querySelector(".where").textContent = "rows " + (start + 1) + " to " + last + " of " + rows.length;
      pager.querySelector(".prev").disabled = start === 0;
      pager.querySelector(".next").disabled = last >= rows.length;
    }
    pager.querySelector(".prev").addEventListener("click", function () { start = Math.max(0, start - PAGE); show(); });
    pager.querySelector(".next").addEventListener("click", function () { start = Math.min(rows.length - 1, start + PAGE); show(); });
    show();
  }

  var holder = document.getElementById("explore-data");  /* absent when too large to list */
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), makeSearchable);
  Array.prototype.forEach.call(document.querySelectorAll("[data-preview]"), pagedPreview);
  if (holder) { asAt(JSON.parse(holder.textContent)); }
}());
