// Greenroom search: as-you-type suggestions on the header's search box (a
// WAI-ARIA 1.2 combobox with a listbox popup), "/" to focus it, arrow-key
// movement between results on /search, and click-through positions sent
// for search analytics. Progressive enhancement: without this file the
// box is a plain form that submits to /search.
(function () {
  'use strict';
  var DEBOUNCE = 120;

  function ready() {
    var input = document.getElementById('site-search-q');
    var list = document.getElementById('site-search-list');
    var status = document.getElementById('site-search-status');
    if (input && list) combobox(input, list, status);
    document.addEventListener('keydown', function (e) {
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      var t = e.target;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      var box = document.getElementById('search-q') || input;
      if (box) { e.preventDefault(); box.focus(); box.select(); }
    });
    results();
  }

  function combobox(input, list, status) {
    var items = [], active = -1, timer = null, seq = 0;

    function close() {
      list.hidden = true;
      input.setAttribute('aria-expanded', 'false');
      input.removeAttribute('aria-activedescendant');
      active = -1;
    }
    function select(i) {
      var opts = list.querySelectorAll('[role="option"]');
      for (var k = 0; k < opts.length; k++) opts[k].setAttribute('aria-selected', k === i ? 'true' : 'false');
      active = i;
      if (i >= 0 && opts[i]) {
        input.setAttribute('aria-activedescendant', opts[i].id);
        opts[i].scrollIntoView({ block: 'nearest' });
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    }
    function render(suggestions) {
      items = suggestions;
      while (list.firstChild) list.removeChild(list.firstChild);
      suggestions.forEach(function (s, i) {
        var li = document.createElement('li');
        li.id = 'site-search-opt-' + i;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', 'false');
        var title = document.createElement('span');
        title.textContent = s.title;
        var kind = document.createElement('span');
        kind.className = 'muted';
        kind.textContent = ' ' + (s.kind || s.type || '');
        li.appendChild(title);
        li.appendChild(kind);
        li.addEventListener('mousedown', function (e) { e.preventDefault(); go(i); });
        list.appendChild(li);
      });
      var n = suggestions.length;
      if (n === 0) { close(); } else {
        list.hidden = false;
        input.setAttribute('aria-expanded', 'true');
        active = -1;
      }
      if (status) status.textContent = n === 0 ? 'No suggestions' : n + (n === 1 ? ' suggestion' : ' suggestions') + '; use the arrow keys to choose';
    }
    function go(i) {
      var s = items[i];
      if (!s || !s.location || s.location.charAt(0) !== '/') return;
      window.location.assign(s.location);
    }
    function fetchSuggestions() {
      var term = input.value.trim();
      if (term === '') { render([]); return; }
      var mine = ++seq;
      fetch('/api/search/suggest?term=' + encodeURIComponent(term), { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.json() : { suggestions: [] }; })
        .then(function (body) { if (mine === seq) render(body.suggestions || []); })
        .catch(function () { if (mine === seq) render([]); });
    }
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(fetchSuggestions, DEBOUNCE);
    });
    input.addEventListener('keydown', function (e) {
      var n = items.length;
      if (e.key === 'ArrowDown') {
        if (list.hidden && n) { list.hidden = false; input.setAttribute('aria-expanded', 'true'); }
        if (n) { e.preventDefault(); select((active + 1) % n); }
      } else if (e.key === 'ArrowUp') {
        if (n) { e.preventDefault(); select(active <= 0 ? n - 1 : active - 1); }
      } else if (e.key === 'Enter') {
        if (!list.hidden && active >= 0) { e.preventDefault(); go(active); }
      } else if (e.key === 'Escape') {
        if (!list.hidden) { e.preventDefault(); close(); } else { input.value = ''; }
      }
    });
    input.addEventListener('blur', function () { setTimeout(close, 100); });
  }

  // On /search: arrow keys between result links, clicks recorded.
  function results() {
    var ol = document.querySelector('.search-hits[data-search-term]');
    if (!ol) return;
    var term = ol.getAttribute('data-search-term') || '';
    var links = Array.prototype.slice.call(ol.querySelectorAll('a.search-hit-title'));
    ol.addEventListener('keydown', function (e) {
      var i = links.indexOf(document.activeElement);
      if (i < 0) return;
      if (e.key === 'ArrowDown' && i + 1 < links.length) { e.preventDefault(); links[i + 1].focus(); }
      if (e.key === 'ArrowUp' && i > 0) { e.preventDefault(); links[i - 1].focus(); }
    });
    links.forEach(function (a) {
      a.addEventListener('click', function () {
        var rank = parseInt(a.getAttribute('data-rank'), 10);
        if (!rank || !term) return;
        var body = JSON.stringify({ term: term, rank: rank });
        if (navigator.sendBeacon) {
          navigator.sendBeacon('/api/search/click', new Blob([body], { type: 'application/json' }));
        } else {
          fetch('/api/search/click', { method: 'POST', body: body, headers: { 'Content-Type': 'application/json' }, keepalive: true, credentials: 'same-origin' });
        }
      });
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready);
  else ready();
})();
