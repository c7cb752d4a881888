// Greenroom portal: progressive enhancement only. Every feature works
// without this file (forms and links); it adds a persisted theme switch,
// filter forms that apply as you change them, starring without a page
// load and live updates (Server-Sent Events), announced to screen readers
// through the #live region.
(function () {
  'use strict';
  var root = document.documentElement;
  var THEME = 'greenroom-theme';
  var FOCUS = 'greenroom-focus';

  function get(store, key) {
    try { return window[store].getItem(key); } catch (e) { return null; }
  }
  function put(store, key, value) {
    try {
      if (value === null) window[store].removeItem(key); else window[store].setItem(key, value);
    } catch (e) { /* storage disabled: the choice lasts for this page */ }
  }

  // Apply the stored theme before the body paints (this script is in <head>).
  function applyTheme(t) {
    if (t === 'light' || t === 'dark') root.setAttribute('data-theme', t);
    else root.removeAttribute('data-theme');
  }
  applyTheme(get('localStorage', THEME));

  function ready() {
    var live = document.getElementById('live');
    function announce(msg) {
      if (!live) return;
      live.textContent = '';
      window.setTimeout(function () { live.textContent = msg; }, 60);
    }

    // Theme switcher: system → light → dark → system.
    var toggle = document.getElementById('theme-toggle');
    if (toggle) {
      var order = ['system', 'light', 'dark'];
      var names = { system: 'system', light: 'light', dark: 'dark' };
      var label = function () {
        var t = get('localStorage', THEME) || 'system';
        toggle.textContent = 'Theme: ' + names[t];
        toggle.setAttribute('aria-label', 'Theme: ' + names[t] + '. Activate to change.');
      };
      toggle.hidden = false;
      label();
      toggle.addEventListener('click', function () {
        var cur = get('localStorage', THEME) || 'system';
        var next = order[(order.indexOf(cur) + 1) % order.length];
        put('localStorage', THEME, next === 'system' ? null : next);
        applyTheme(next);
        label();
        announce(next === 'system' ? 'Theme follows your system setting' : (next === 'dark' ? 'Dark theme' : 'Light theme'));
      });
    }

    // Filter forms apply on change. The page reloads, so focus returns to
    // the control that was changed.
    // Delegated, so that it survives a live update of <main>.
    function showHints() {
      Array.prototype.forEach.call(document.querySelectorAll('form[data-autosubmit] [data-js-hint]'),
        function (hint) { hint.hidden = false; });
    }
    showHints();
    document.addEventListener('change', function (ev) {
      var el = ev.target;
      var form = el && el.form;
      if (!form || !form.hasAttribute('data-autosubmit')) return;
      if (el.type === 'search' || el.type === 'text') return; // text applies on Enter
      // By name and value: ids of choices follow their order, which the
      // new results' counts may change.
      put('sessionStorage', FOCUS, JSON.stringify({ name: el.name, value: el.value, id: el.id }));
      announce('Updating results');
      if (form.requestSubmit) form.requestSubmit(); else form.submit();
    });
    var again = get('sessionStorage', FOCUS);
    if (again) {
      put('sessionStorage', FOCUS, null);
      var el = null;
      try { again = JSON.parse(again); } catch (e) { again = {}; }
      Array.prototype.forEach.call(document.querySelectorAll('form[data-autosubmit] [name]'), function (c) {
        if (!el && c.name === again.name && (c.type !== 'checkbox' && c.type !== 'radio' || c.value === again.value)) el = c;
      });
      if (!el && again.id) el = document.getElementById(again.id);
      if (el) {
        var d = el.closest('details');
        if (d) d.open = true;
        el.focus();
        var status = document.getElementById('result-count');
        if (status) announce(status.textContent);
      }
    }

    // Star buttons post in the background and update in place.
    document.addEventListener('submit', function (ev) {
      var form = ev.target;
      if (!form.hasAttribute || !form.hasAttribute('data-star')) return;
      ev.preventDefault();
      var button = form.querySelector('button');
      var field = form.querySelector('input[name="star"]');
      var name = form.getAttribute('data-name') || 'entity';
      var body = new URLSearchParams(new FormData(form));
      button.disabled = true;
      fetch(form.action, {
        method: 'POST', body: body, credentials: 'same-origin',
        headers: { 'Accept': 'application/json' }
      }).then(function (r) {
        if (!r.ok) throw new Error('status ' + r.status);
        return r.json();
      }).then(function (d) {
        button.disabled = false;
        button.setAttribute('aria-pressed', d.starred ? 'true' : 'false');
        var icon = button.querySelector('[aria-hidden]');
        if (icon) icon.textContent = d.starred ? '★' : '☆';
        field.value = d.starred ? '0' : '1';
        announce(d.starred ? 'Starred ' + name : 'Removed the star from ' + name);
      }).catch(function () {
        form.submit(); // fall back to the plain form post
      });
    });

    // Live updates: <main data-live="entity|list" data-live-url="…">.
    var main = document.getElementById('main');
    var liveURL = main && main.getAttribute('data-live-url');
    if (liveURL && window.EventSource && window.DOMParser) follow(main, main.getAttribute('data-live'), liveURL);

    function follow(main, mode, url) {
      var es = null, lastID = '', timer = 0, changed = {}, count = 0, banner = null, said = 0, retries = 0;
      function open() {
        if (es || document.hidden) return;
        es = new EventSource(lastID ? url + (url.indexOf('?') < 0 ? '?' : '&') + 'since=' + encodeURIComponent(lastID) : url);
        es.addEventListener('open', function () { retries = 0; main.setAttribute('data-live-state', 'open'); });
        es.addEventListener('change', function (ev) {
          lastID = ev.lastEventId || lastID;
          var d;
          try { d = JSON.parse(ev.data); } catch (e) { return; }
          if (mode === 'entity') entityChanged(d); else listChanged(d.entityRef);
        });
        es.addEventListener('ready', function (ev) { lastID = ev.lastEventId || lastID; });
        es.addEventListener('resync', function () {
          if (mode === 'entity') schedule(); else listChanged('');
        });
        es.addEventListener('error', function () {
          if (es.readyState !== EventSource.CLOSED) return; // the browser reconnects by itself
          es = null; // refused (server busy or off): try again, more slowly
          if (retries++ < 5) window.setTimeout(open, 5000 * retries);
        });
      }
      function close() {
        if (es) { es.close(); es = null; }
        main.setAttribute('data-live-state', 'closed');
      }
      // Hidden tabs hold no connection; on return they catch up (since=).
      document.addEventListener('visibilitychange', function () { if (document.hidden) close(); else open(); });
      window.addEventListener('pagehide', close);
      open();

      function entityChanged(d) {
        if (d.type === 'deleted') {
          showBanner('This entity was removed from the catalog. What you see is its last version.', false);
          announce('This entity was removed from the catalog');
          return;
        }
        schedule();
      }
      function schedule() {
        window.clearTimeout(timer);
        timer = window.setTimeout(refresh, 250); // one refresh per burst
      }
      // Fetch this page again and swap <main>'s content, keeping focus.
      function refresh() {
        fetch(window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } }).then(function (r) {
          if (!r.ok) throw new Error('status ' + r.status);
          return r.text();
        }).then(function (text) {
          var doc = new DOMParser().parseFromString(text, 'text/html');
          var fresh = doc.getElementById('main');
          if (!fresh) return;
          var active = document.activeElement, focusID = '', focusHref = '';
          if (active && main.contains(active) && active !== main) {
            focusID = active.id;
            focusHref = active.getAttribute('href') || '';
          }
          // A copy first: adopting a node removes it from the live list.
          var nodes = Array.prototype.slice.call(fresh.childNodes).map(function (n) { return document.adoptNode(n); });
          main.replaceChildren.apply(main, nodes);
          banner = null;
          document.title = doc.title;
          showHints();
          var again = (focusID && document.getElementById(focusID)) ||
            (focusHref && main.querySelector('a[href="' + focusHref.replace(/["\\]/g, '') + '"]'));
          if (again) again.focus(); else if (focusID || focusHref) main.focus();
          var h1 = main.querySelector('h1');
          main.setAttribute('data-live-updated', String(Date.now()));
          announce((h1 ? h1.textContent.trim() : 'This page') + ' was updated');
        }).catch(function () {
          showBanner('This entity changed.', true);
          announce('This entity changed. Reload to see the new version.');
        });
      }
      function listChanged(ref) {
        if (ref && !changed[ref]) { changed[ref] = true; count++; }
        var msg = count ? (count === 1 ? '1 entity changed' : count + ' entities changed') + ' since this page loaded.'
          : 'The catalog changed since this page loaded.';
        showBanner(msg, true);
        var now = Date.now();
        if (now - said > 10000) { said = now; announce(msg + ' Refresh to see the changes.'); }
      }
      function showBanner(msg, reload) {
        if (!banner) {
          banner = document.createElement('div');
          banner.className = 'live-banner';
          banner.id = 'live-banner';
          banner.appendChild(document.createElement('span'));
          main.insertBefore(banner, main.firstChild);
        }
        banner.firstChild.textContent = msg + ' ';
        if (reload && !banner.querySelector('button')) {
          var b = document.createElement('button');
          b.type = 'button';
          b.className = 'btn';
          b.textContent = 'Refresh';
          b.addEventListener('click', function () { window.location.reload(); });
          banner.appendChild(b);
        }
      }
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready);
  else ready();
})();
