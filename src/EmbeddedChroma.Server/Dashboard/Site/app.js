// The keys dashboard's page script (served as a file: the Content-Security-Policy allows no inline script).
// The admin key is posted once to /dashboard/api/login and never kept: the session lives in an HttpOnly cookie, and
// the CSRF token for changes is held in this closure only (fetched again from /api/session after a reload).
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const api = '/dashboard/api';
  let csrf = null;
  let me = null;
  let keys = [];
  let dialogKey = null;

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    Object.assign(node, props || {});
    for (const child of children) node.append(child ?? '');
    return node;
  }

  function show(text, ok) {
    const box = $('message');
    box.textContent = text;
    box.className = ok ? 'ok' : '';
    box.hidden = !text;
  }

  async function call(method, path, body) {
    const headers = {};
    if (method !== 'GET') headers['X-CSRF-Token'] = csrf || '';
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const response = await fetch(api + path, { method, headers, credentials: 'same-origin', cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body) });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401 && path !== '/login') { loggedOut('Your session ended: log in again.'); throw new Error('logged out'); }
    if (!response.ok) throw new Error(data.error || ('HTTP ' + response.status));
    return data;
  }

  function loggedOut(text) {
    csrf = null;
    $('app-view').hidden = true; $('who').hidden = true; $('login-view').hidden = false;
    $('secret-panel').hidden = true; $('secret-value').value = '';
    show(text || '');
    $('login-key').focus();
  }

  function loggedIn(session) {
    csrf = session.csrf;
    me = session.keyId;
    $('who-name').textContent = session.keyName + ' (' + session.keyId + ')';
    $('who').hidden = false; $('login-view').hidden = true; $('app-view').hidden = false;
    show('');
    selectTab('keys');
  }

  const fmt = (t) => t ? new Date(t).toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—';

  async function loadKeys() {
    keys = (await call('GET', '/keys')).keys;
    const body = $('keys-table').tBodies[0];
    body.replaceChildren(...keys.map((k) => {
      const buttons = el('td', {});
      const live = k.state !== 'Revoked';
      if (live && (k.state === 'Active')) buttons.append(button('Roll', 'roll', k));
      // The session's own key can be rolled but not disabled or revoked from here (that would end this session).
      if (live && k.state !== 'Disabled' && k.keyId !== me) buttons.append(button('Disable', 'disable', k));
      if (k.state === 'Disabled') buttons.append(button('Enable', 'enable', k));
      if (live && k.keyId !== me) buttons.append(button('Revoke', 'revoke', k));
      buttons.append(button('Usage', 'usage', k));
      const row = el('tr', {}, el('td', {}, k.name), el('td', { className: 'mono' }, k.keyId),
        el('td', { className: 'mono' }, k.resources.join(', ')), el('td', { className: 'mono' }, k.actions.join(', ')),
        el('td', {}, fmt(k.created)), el('td', {}, fmt(k.expiresAt)), el('td', {}, fmt(k.lastUsed)),
        el('td', {}, el('span', { className: 'state state-' + k.state }, k.state)), buttons);
      row.dataset.keyId = k.keyId;
      row.dataset.keyName = k.name;
      return row;
    }));
    const select = $('usage-key');
    const chosen = select.value;
    select.replaceChildren(...keys.map((k) => el('option', { value: k.keyId, textContent: k.name + ' (' + k.keyId + ')' })));
    if (keys.some((k) => k.keyId === chosen)) select.value = chosen;
  }

  function button(label, action, key) {
    const b = el('button', { type: 'button', className: 'small' + (action === 'revoke' ? ' danger' : ' quiet'), textContent: label });
    b.dataset.action = action;
    b.addEventListener('click', () => act(action, key).catch((e) => show(e.message)));
    return b;
  }

  async function act(action, key) {
    dialogKey = key;
    if (action === 'usage') { $('usage-key').value = key.keyId; selectTab('usage'); return; }
    if (action === 'roll' || action === 'revoke') {
      const dialog = $(action + '-dialog');
      dialog.querySelector('.dialog-key').textContent = key.name + ' (' + key.keyId + ')';
      dialog.showModal();
      return;
    }
    await call('POST', '/keys/' + encodeURIComponent(key.keyId) + '/' + action);
    show('Key ' + key.name + ' ' + (action === 'disable' ? 'disabled.' : 'enabled.'), true);
    await loadKeys();
  }

  function showSecret(created, what) {
    $('secret-value').value = created.secret;
    $('secret-copied').hidden = true;
    $('secret-panel').hidden = false;
    show(what + ' ' + created.key.name + ' (' + created.key.keyId + ').', true);
  }

  function splitList(text) { return text.split(',').map((s) => s.trim()).filter((s) => s.length > 0); }

  async function createKey(event) {
    event.preventDefault();
    const days = $('create-expires').value;
    const created = await call('POST', '/keys', {
      name: $('create-name').value.trim(), actions: splitList($('create-actions').value), resources: splitList($('create-resources').value),
      expiresAt: days ? new Date(Date.now() + Number(days) * 86400000).toISOString() : null,
    });
    $('create-form').reset();
    $('create').open = false;
    showSecret(created, 'Created key');
    await loadKeys();
  }

  // ------------------------------------------------------------ usage chart (inline SVG, stacked bars per hour)
  const palette = ['#2f5bd3', '#e07b00', '#2e7d32', '#8e24aa', '#c62828', '#00838f', '#6d4c41', '#546e7a'];
  const svgNs = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, text) {
    const node = document.createElementNS(svgNs, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function drawChart(usage) {
    const hours = usage.hours, from = Date.parse(usage.from);
    const allowed = usage.buckets.filter((b) => b.outcome === 'Allowed');
    const actions = [...new Set(allowed.map((b) => b.action))].sort();
    const grid = Array.from({ length: hours }, () => new Map());
    for (const b of allowed) {
      const i = Math.round((Date.parse(b.hour) - from) / 3600000);
      if (i >= 0 && i < hours) grid[i].set(b.action, (grid[i].get(b.action) || 0) + b.count);
    }
    const totals = grid.map((m) => [...m.values()].reduce((a, c) => a + c, 0));
    const max = Math.max(1, ...totals);
    const ticks = Math.min(4, max), raw = max / ticks, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const tickStep = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw), top = tickStep * ticks;
    const W = 960, H = 260, L = 48, R = 12, T = 12, B = 40, plotW = W - L - R, plotH = H - T - B, barW = plotW / hours;
    const root = svg('svg', { viewBox: `0 0 ${W} ${H + 24 + 18 * Math.ceil(actions.length / 4)}`, role: 'img', 'aria-label': 'calls per hour' });
    root.setAttribute('data-total', String(totals.reduce((a, c) => a + c, 0)));
    for (let t = 0; t <= ticks; t++) {
      const y = T + plotH - (plotH * t) / ticks;
      root.append(svg('line', { x1: L, x2: W - R, y1: y, y2: y, stroke: '#e3e6ec' }));
      root.append(svg('text', { x: L - 6, y: y + 4, 'text-anchor': 'end' }, String(t * tickStep)));
    }
    grid.forEach((m, i) => {
      let y = T + plotH;
      actions.forEach((a, j) => {
        const n = m.get(a) || 0;
        if (!n) return;
        const h = (plotH * n) / top;
        y -= h;
        const rect = svg('rect', { x: L + i * barW + 2, y, width: Math.max(1, barW - 4), height: h, fill: palette[j % palette.length] });
        rect.append(svg('title', {}, `${new Date(from + i * 3600000).toISOString().slice(11, 16)} UTC · ${a}: ${n}`));
        root.append(rect);
      });
      if (i % 3 === 0 || i === hours - 1) {
        root.append(svg('text', { x: L + i * barW + barW / 2, y: T + plotH + 16, 'text-anchor': 'middle' },
          new Date(from + i * 3600000).toISOString().slice(11, 13) + 'h'));
      }
    });
    root.append(svg('line', { x1: L, x2: W - R, y1: T + plotH, y2: T + plotH, stroke: '#9aa3b2' }));
    actions.forEach((a, j) => {
      const x = L + (j % 4) * 220, y = H + 8 + 18 * Math.floor(j / 4);
      root.append(svg('rect', { x, y: y - 9, width: 10, height: 10, fill: palette[j % palette.length] }));
      root.append(svg('text', { x: x + 16, y }, a));
    });
    if (actions.length === 0) root.append(svg('text', { x: L + plotW / 2, y: T + plotH / 2, 'text-anchor': 'middle' }, 'No calls in the last 24 hours'));
    $('usage-chart').replaceChildren(root);
  }

  async function loadUsage() {
    const id = $('usage-key').value;
    if (!id) { $('usage-chart').replaceChildren(); return; }
    const usage = await call('GET', '/keys/' + encodeURIComponent(id) + '/usage?hours=24');
    drawChart(usage);
    $('usage-totals').tBodies[0].replaceChildren(...usage.totals.map((t) =>
      el('tr', {}, el('td', { className: 'mono' }, t.action), el('td', {}, t.outcome), el('td', {}, String(t.count)))));
  }

  async function loadAudit() {
    const audit = await call('GET', '/audit?limit=200');
    const v = audit.verification, state = $('audit-state');
    state.className = v.valid ? 'valid' : 'invalid';
    state.textContent = v.valid
      ? `Chain verified: ${v.entries} entries, every MAC matches; head ${(v.headMac || '').slice(0, 16)}…`
      : (v.ringProblem ? `Chain INVALID: ${v.ringProblem}` : `Chain INVALID from entry ${v.firstInvalidSequence} (modified, or following a deleted entry)`);
    state.dataset.valid = String(v.valid);
    $('audit-table').tBodies[0].replaceChildren(...audit.entries.map((e) => el('tr', {},
      el('td', {}, String(e.sequence)), el('td', {}, fmt(e.time)), el('td', { className: 'mono' }, e.event),
      el('td', { className: 'mono' }, e.keyId || ''), el('td', { className: 'mono' }, e.actorKeyId || ''), el('td', {}, e.detail || ''))));
  }

  function selectTab(name) {
    for (const tab of document.querySelectorAll('.tab')) tab.setAttribute('aria-selected', String(tab.dataset.tab === name));
    for (const panel of document.querySelectorAll('.tab-panel')) panel.hidden = panel.id !== 'tab-' + name;
    const load = name === 'keys' ? loadKeys : name === 'usage' ? () => loadKeys().then(loadUsage) : loadAudit;
    load().catch((e) => show(e.message));
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      const input = $('login-key');
      const form = new URLSearchParams({ key: input.value });
      input.value = '';
      try {
        const response = await fetch(api + '/login', { method: 'POST', body: form, credentials: 'same-origin', cache: 'no-store' });
        const data = await response.json().catch(() => ({}));
        if (!response.ok) { show(data.error || ('HTTP ' + response.status)); return; }
        loggedIn(data);
      } catch (e) { show(e.message); }
    });
    $('logout').addEventListener('click', () => call('POST', '/logout').catch(() => {}).finally(() => loggedOut('Logged out.')));
    for (const tab of document.querySelectorAll('.tab')) tab.addEventListener('click', () => selectTab(tab.dataset.tab));
    $('create-form').addEventListener('submit', (e) => createKey(e).catch((x) => show(x.message)));
    $('secret-copy').addEventListener('click', async () => {
      const value = $('secret-value');
      try { await navigator.clipboard.writeText(value.value); } catch { value.select(); document.execCommand('copy'); }
      $('secret-copied').hidden = false;
    });
    $('secret-done').addEventListener('click', () => { $('secret-value').value = ''; $('secret-panel').hidden = true; });
    $('usage-key').addEventListener('change', () => loadUsage().catch((e) => show(e.message)));
    $('usage-refresh').addEventListener('click', () => loadUsage().catch((e) => show(e.message)));
    for (const close of document.querySelectorAll('dialog [data-close]')) close.addEventListener('click', () => close.closest('dialog').close());
    $('roll-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      $('roll-dialog').close();
      try {
        const created = await call('POST', '/keys/' + encodeURIComponent(dialogKey.keyId) + '/roll', { graceSeconds: Math.round(Number($('roll-grace').value || 0) * 60) });
        showSecret(created, 'Rolled key ' + dialogKey.name + '; its successor is');
        await loadKeys();
      } catch (e) { show(e.message); }
    });
    $('revoke-form').addEventListener('submit', async (event) => {
      event.preventDefault();
      $('revoke-dialog').close();
      try {
        await call('POST', '/keys/' + encodeURIComponent(dialogKey.keyId) + '/revoke');
        show('Revoked key ' + dialogKey.name + '.', true);
        await loadKeys();
      } catch (e) { show(e.message); }
    });
    fetch(api + '/session', { credentials: 'same-origin', cache: 'no-store' })
      .then((r) => (r.ok ? r.json().then(loggedIn) : loggedOut()))
      .catch(() => loggedOut());
  });
})();
