// sigwiki page script: theme switch, mobile menu, copy buttons, query-target tabs, the rules
// table filters and search, and (only under `sigwiki serve`) live reload. No dependencies;
// every feature degrades to plain content without JavaScript.
(function () {
  "use strict";
  var doc = document;

  function onReady(fn) {
    if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", fn);
    else fn();
  }

  // Theme: auto (system) → dark → light → auto.
  function setupTheme() {
    var button = doc.getElementById("theme-toggle");
    if (!button) return;
    button.addEventListener("click", function () {
      var root = doc.documentElement;
      var current = root.getAttribute("data-theme") || "auto";
      var next = current === "auto" ? "dark" : current === "dark" ? "light" : "auto";
      if (next === "auto") root.removeAttribute("data-theme");
      else root.setAttribute("data-theme", next);
      try { localStorage.setItem("sigwiki-theme", next === "auto" ? "" : next); } catch (e) { /* private mode */ }
      button.setAttribute("data-theme", next);
    });
  }

  function setupMenu() {
    var toggle = doc.getElementById("nav-toggle");
    var nav = doc.getElementById("site-nav");
    if (!toggle || !nav) return;
    toggle.addEventListener("click", function () {
      var open = nav.classList.toggle("open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  function copyText(text, done) {
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { fallbackCopy(text, done); });
    } else {
      fallbackCopy(text, done);
    }
  }

  function fallbackCopy(text, done) {
    var area = doc.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    doc.body.appendChild(area);
    area.select();
    try { doc.execCommand("copy"); done(); } catch (e) { /* nothing to do */ }
    doc.body.removeChild(area);
  }

  function setupCopyButtons() {
    var blocks = doc.querySelectorAll(".markdown pre");
    for (var i = 0; i < blocks.length; i++) {
      (function (pre, n) {
        var wrap = doc.createElement("div");
        wrap.className = "code-block";
        pre.parentNode.insertBefore(wrap, pre);
        wrap.appendChild(pre);
        var button = doc.createElement("button");
        button.type = "button";
        button.className = "copy";
        button.id = "copy-" + n;
        button.textContent = "Copy";
        button.addEventListener("click", function () {
          copyText(pre.textContent, function () {
            button.textContent = "Copied";
            setTimeout(function () { button.textContent = "Copy"; }, 1500);
          });
        });
        wrap.appendChild(button);
      })(blocks[i], i);
    }
  }

  // Query targets: the sections under "Detection Rules" become tabs.
  function setupTabs() {
    var groups = doc.querySelectorAll(".targets");
    for (var g = 0; g < groups.length; g++) {
      var group = groups[g];
      var sections = group.querySelectorAll("section.target");
      if (sections.length < 2) continue;
      var list = doc.createElement("div");
      list.className = "tablist";
      list.setAttribute("role", "tablist");
      var tabs = [];
      for (var i = 0; i < sections.length; i++) {
        var section = sections[i];
        var tab = doc.createElement("button");
        tab.type = "button";
        tab.className = "tab";
        tab.id = "tab-" + section.id;
        tab.setAttribute("role", "tab");
        tab.setAttribute("aria-controls", section.id);
        tab.textContent = section.getAttribute("data-title") || ("Tab " + (i + 1));
        section.setAttribute("role", "tabpanel");
        section.setAttribute("aria-labelledby", tab.id);
        list.appendChild(tab);
        tabs.push(tab);
      }
      group.insertBefore(list, group.firstChild);
      group.classList.add("tabbed");
      var select = (function (sections, tabs) {
        return function (index) {
          for (var k = 0; k < sections.length; k++) {
            sections[k].hidden = k !== index;
            tabs[k].setAttribute("aria-selected", k === index ? "true" : "false");
            tabs[k].tabIndex = k === index ? 0 : -1;
          }
        };
      })(sections, tabs);
      for (var t = 0; t < tabs.length; t++) {
        (function (index, tabs) {
          tabs[index].addEventListener("click", function () { select(index); });
          tabs[index].addEventListener("keydown", function (event) {
            var step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
            if (!step) return;
            var next = (index + step + tabs.length) % tabs.length;
            select(next);
            tabs[next].focus();
          });
        })(t, tabs);
      }
      var initial = 0;
      for (var h = 0; h < sections.length; h++) {
        if (location.hash && location.hash.slice(1) === sections[h].id) initial = h;
      }
      select(initial);
    }
  }

  // The all-rules table: filters, date range and free-text search.
  function setupRulesTable() {
    var table = doc.getElementById("rules-table");
    if (!table) return;
    var rows = table.tBodies[0] ? table.tBodies[0].rows : [];
    var selects = doc.querySelectorAll("#rule-filters select");
    var query = doc.getElementById("filter-q");
    var from = doc.getElementById("filter-date-from");
    var to = doc.getElementById("filter-date-to");
    var count = doc.getElementById("rules-count");
    var empty = doc.getElementById("rules-empty");
    var extra = {}; // href → lowercase text from rules.json (description, tags, id…)
    var params = new URLSearchParams(location.search);
    if (params.get("q")) query.value = params.get("q");
    var fields = ["level", "status", "tactic", "technique", "product", "category", "service", "author", "regression"];
    for (var f = 0; f < fields.length; f++) {
      var value = params.get(fields[f]);
      var el = doc.getElementById("filter-" + fields[f]);
      if (value && el) el.value = value;
    }

    function apply() {
      var words = query.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      for (var i = 0; i < rows.length; i++) {
        var row = rows[i];
        var ok = true;
        for (var s = 0; s < selects.length && ok; s++) {
          var want = selects[s].value;
          if (!want) continue;
          var have = row.getAttribute("data-" + selects[s].getAttribute("data-field")) || "";
          var sep = selects[s].getAttribute("data-multi");
          ok = sep ? have.split(sep).indexOf(want) >= 0 : have === want;
        }
        var date = row.getAttribute("data-date") || "";
        if (ok && from.value) ok = date !== "" && date >= from.value;
        if (ok && to.value) ok = date !== "" && date <= to.value;
        if (ok && words.length) {
          var text = (row.textContent + " " + (extra[row.getAttribute("data-href")] || "")).toLowerCase();
          for (var w = 0; w < words.length && ok; w++) ok = text.indexOf(words[w]) >= 0;
        }
        row.hidden = !ok;
        if (ok) shown++;
      }
      count.textContent = shown + (shown === 1 ? " rule" : " rules");
      empty.hidden = shown !== 0;
    }

    var inputs = doc.querySelectorAll("#rule-filters select, #rule-filters input");
    for (var k = 0; k < inputs.length; k++) {
      inputs[k].addEventListener("input", apply);
      inputs[k].addEventListener("change", apply);
    }
    doc.getElementById("rule-filters").addEventListener("reset", function () { setTimeout(apply, 0); });
    apply();
    // Full-text search over descriptions, tags and ids from rules.json (not available from
    // file:// in some browsers; the table text is searched either way).
    if (window.fetch && location.protocol !== "file:") {
      fetch((doc.body.getAttribute("data-root") || "") + "rules.json").then(function (r) {
        return r.ok ? r.json() : [];
      }).then(function (rules) {
        for (var i = 0; i < rules.length; i++) {
          var rule = rules[i];
          extra[rule.html] = [rule.description, rule.id, rule.name, rule.author, (rule.tags || []).join(" "),
            (rule.techniques || []).join(" "), rule.source_path].join(" ");
        }
        apply();
      }, function () { /* search stays on the table text */ });
    }
  }

  // Live reload under `sigwiki serve`.
  function setupLiveReload() {
    var url = doc.body.getAttribute("data-live-reload");
    if (!url || !window.fetch) return;
    var seen = null;
    function showError(message) {
      var box = doc.getElementById("live-error");
      if (!message) { if (box) box.parentNode.removeChild(box); return; }
      if (!box) {
        box = doc.createElement("div");
        box.id = "live-error";
        box.setAttribute("role", "alert");
        doc.body.appendChild(box);
      }
      box.textContent = "sigwiki: the last build failed; showing the previous one.\n\n" + message;
    }
    // A long poll: the server holds the request until this page changed in a version newer
    // than `since`, or the build error changed, and says which.
    function poll() {
      var query = seen === null ? "" : "?since=" + seen + "&page=" + encodeURIComponent(location.pathname);
      fetch(url + query, { cache: "no-store" }).then(function (r) { return r.json(); }).then(function (status) {
        if (seen !== null && status.reload && !status.error) { location.reload(); return; }
        var first = seen === null;
        seen = status.version;
        showError(status.error);
        // A server that did not hold the request is polled once a second.
        setTimeout(poll, first || status.long_poll ? 0 : 1000);
      }, function () { setTimeout(poll, 2000); });
    }
    poll();
  }

  onReady(function () {
    setupTheme();
    setupMenu();
    setupCopyButtons();
    setupTabs();
    setupRulesTable();
    setupLiveReload();
  });
})();
