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

  /* The structure on a day, looked up in the page's data: for each PCN the days it is listed
     and its name on each day, for each membership the days it counts as a member and those as
     only possibly one, as [first, last] ISO days worked out by ics-data's own rules (those of
     ics-data as-at) when the page was made. No date is reasoned about here: a day (ISO text,
     which sorts as the days do) is only looked up. */
  function within(periods, day) {
    return periods.some(function (p) { return p[0] <= day && day <= p[1]; });
  }
  function nameOn(names, day) {
    for (var i = 0; i < names.length; i += 1) {
      if (names[i][0] <= day && day <= names[i][1]) { return names[i][2]; }
    }
    return "";
  }
  function counted(sets, code) { return sets[code] ? Object.keys(sets[code]).length : 0; }

  function structureOn(data, day) {
    var members = Object.create(null), possible = Object.create(null);
    data.memberships.forEach(function (m) {
      var into = within(m[2], day) ? members : within(m[3], day) ? possible : null;
      if (into) { (into[m[1]] = into[m[1]] || Object.create(null))[m[0]] = true; }
    });
    var open = data.pcns.filter(function (p) { return within(p[2], day); }).map(function (p) {
      return { code: p[0], name: nameOn(p[3], day), partnership: p[1],
               members: counted(members, p[0]), possible: counted(possible, p[0]) };
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
