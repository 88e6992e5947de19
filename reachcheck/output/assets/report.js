"use strict";
// The site table of a reachcheck HTML report: filter, search and page through the sites held
// in the page's JSON data block. Data is only ever inserted as text (never as HTML): site
// names, titles and details come from servers and must not become markup.
(function () {
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var PAGE = 100;
  var SVG = "http://www.w3.org/2000/svg";
  var sites = data.sites;
  var state = { text: "", verdict: "", changed: false, page: 0 };
  var body = document.getElementById("site-rows");
  var shown = document.getElementById("shown-count");
  var pageInfo = document.getElementById("page-info");
  var nv = data.verdicts.length;

  sites.forEach(function (s) {
    var hay = [s.t, s.u, s.v, s.m, s.r];
    (s.e || []).forEach(function (e) { hay.push(e[1], e[2]); });
    s._hay = hay.join("\n").toLowerCase();
    s._changed = false;
    var prev = -1;
    (s.h || []).forEach(function (code) {
      if (code < 0) { return; }
      var v = code % nv;
      if (prev >= 0 && v !== prev) { s._changed = true; }
      prev = v;
    });
  });

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function timeline(s) {
    var runs = data.runs, cells = s.h || [];
    var w = Math.max(2, Math.min(12, Math.floor(240 / Math.max(1, runs.length))));
    var svg = document.createElementNS(SVG, "svg");
    svg.setAttribute("width", String(w * runs.length));
    svg.setAttribute("height", "14");
    svg.setAttribute("class", "timeline");
    cells.forEach(function (code, i) {
      var rect = document.createElementNS(SVG, "rect");
      rect.setAttribute("x", String(i * w));
      rect.setAttribute("y", "0");
      rect.setAttribute("width", String(Math.max(1, w - 1)));
      rect.setAttribute("height", "14");
      var verdict = code < 0 ? null : data.verdicts[code % nv];
      rect.setAttribute("fill", verdict ? data.colors[verdict] : data.missing);
      var title = document.createElementNS(SVG, "title");
      title.textContent = (runs[i].at || "run " + (i + 1)) + ": " +
        (verdict ? verdict + " \u2014 " + data.summaries[Math.floor(code / nv)] : "not measured");
      rect.appendChild(title);
      svg.appendChild(rect);
    });
    return svg;
  }

  function evidence(s) {
    var cell = el("td");
    var items = s.e || [];
    if (!items.length) { cell.appendChild(el("span", "muted", s.r)); return cell; }
    var details = el("details");
    details.appendChild(el("summary", null, items.length + s.x + " anomal" +
      (items.length + s.x === 1 ? "y" : "ies")));
    var list = el("ul");
    items.forEach(function (e) {
      var li = el("li");
      li.appendChild(el("span", "kind", e[1] + (e[3] ? " (confirmed)" : "")));
      li.appendChild(document.createTextNode(": " + e[2]));
      list.appendChild(li);
    });
    if (s.x) { list.appendChild(el("li", "muted", "+" + s.x + " more in the JSON")); }
    details.appendChild(list);
    details.appendChild(el("div", "muted", s.r));
    cell.appendChild(details);
    return cell;
  }

  function row(s) {
    var tr = el("tr");
    tr.appendChild(el("td", "site", s.t));
    tr.appendChild(el("td", "v v-" + s.v, s.v));
    tr.appendChild(el("td", null, s.c === "none" ? "-" : s.c));
    var mech = el("td", null, s.m);
    if (s.w !== null && s.w !== undefined) {
      mech.appendChild(el("div", "muted", s.w ? "reachable with trusted DNS" :
        "not reachable with trusted DNS either"));
    }
    tr.appendChild(mech);
    tr.appendChild(evidence(s));
    tr.appendChild(el("td", "muted", s.a || ""));
    if (data.runs.length > 1) {
      var td = el("td");
      td.appendChild(timeline(s));
      tr.appendChild(td);
    }
    return tr;
  }

  function matches(s) {
    if (state.verdict && s.v !== state.verdict) { return false; }
    if (state.changed && !s._changed) { return false; }
    return !state.text || s._hay.indexOf(state.text) !== -1;
  }

  function render() {
    var hits = sites.filter(matches);
    var pages = Math.max(1, Math.ceil(hits.length / PAGE));
    state.page = Math.min(state.page, pages - 1);
    var frag = document.createDocumentFragment();
    hits.slice(state.page * PAGE, (state.page + 1) * PAGE).forEach(function (s) {
      frag.appendChild(row(s));
    });
    body.textContent = "";
    body.appendChild(frag);
    shown.textContent = String(hits.length);
    pageInfo.textContent = "page " + (state.page + 1) + " of " + pages;
    document.getElementById("prev-page").disabled = state.page === 0;
    document.getElementById("next-page").disabled = state.page >= pages - 1;
  }

  document.getElementById("site-filter").addEventListener("input", function (ev) {
    state.text = ev.target.value.trim().toLowerCase(); state.page = 0; render();
  });
  document.getElementById("verdict-filter").addEventListener("change", function (ev) {
    state.verdict = ev.target.value; state.page = 0; render();
  });
  var changed = document.getElementById("changed-filter");
  if (changed) {
    changed.addEventListener("change", function (ev) {
      state.changed = ev.target.checked; state.page = 0; render();
    });
  }
  document.getElementById("prev-page").addEventListener("click", function () {
    state.page -= 1; render();
  });
  document.getElementById("next-page").addEventListener("click", function () {
    state.page += 1; render();
  });
  document.getElementById("sites-section").hidden = false;
  render();
})();
