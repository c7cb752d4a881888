// Greenroom portal: progressive enhancement only. Every feature works
// without this file (forms and links); it adds a persisted theme switch,
// filter forms that apply as you change them, and starring without a page
// load, announced to screen readers through the #live region.
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
    var forms = document.querySelectorAll('form[data-autosubmit]');
    Array.prototype.forEach.call(forms, function (form) {
      var hint = form.querySelector('[data-js-hint]');
      if (hint) hint.hidden = false;
      form.addEventListener('change', function (ev) {
        var el = ev.target;
        if (!el || el.type === 'search' || el.type === 'text') return; // text applies on Enter
        if (el.id) put('sessionStorage', FOCUS, el.id);
        announce('Updating results');
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      });
    });
    var again = get('sessionStorage', FOCUS);
    if (again) {
      put('sessionStorage', FOCUS, null);
      var el = document.getElementById(again);
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
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', ready);
  else ready();
})();
