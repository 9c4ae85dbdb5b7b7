#include "livernode/node/http/admin_page.h"

#include <nlohmann/json.hpp>

#include "livernode/node/store/state_store.h"

namespace livernode::node {

namespace {

// Every value that comes from the node is inserted with textContent (never innerHTML), so
// UIDs, AE titles and error texts cannot inject markup.
constexpr std::string_view kAdminPage = R"HTML(<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>livernode admin</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1em 2em; color: #222; background: #fff; }
  h1 { font-size: 1.4em; margin-bottom: 0.2em; }
  h2 { font-size: 1.1em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
  nav a { margin-right: 1em; }
  table { border-collapse: collapse; font-size: 0.875em; }
  th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
  th { background: #f3f3f3; }
  td.num { text-align: right; }
  .mono { font-family: ui-monospace, monospace; font-size: 0.9em; }
  pre { background: #f7f7f7; border: 1px solid #ddd; padding: 0.6em; overflow: auto; }
  #auth { background: #fafafa; border: 1px solid #ddd; padding: 0.6em; margin: 0.8em 0; }
  #auth-status.required, .error { color: #a00; font-weight: bold; }
  .state-dead, .state-failed { color: #a00; font-weight: bold; }
  .state-pending, .state-queued, .state-running { color: #a60; }
  .state-done, .state-delivered { color: #070; }
  .empty { color: #777; font-style: italic; }
  div.data { overflow-x: auto; }
  /* A table wider than the window: a shadow on the right edge says there is more. */
  div.data.scrolls { box-shadow: inset -10px 0 8px -8px #888; }
  td.text { min-width: 18em; max-width: 32em; overflow-wrap: break-word; }
  /* Long UIDs shortened with an ellipsis (the whole UID in the tooltip and in copied text);
     free text wraps, so that the last column stays in view at 1400 px. */
  .uid { display: inline-block; max-width: 9em; overflow: hidden; text-overflow: ellipsis;
    white-space: nowrap; vertical-align: top; }
  .wrap { display: block; min-width: 8em; max-width: 22em; overflow-wrap: anywhere; }
  #updated { margin-left: 1em; color: #555; }
  #studies-search { margin: 0.4em 0; }
  #studies-search input { width: 26em; }
  button { white-space: nowrap; }
</style>
</head>
<body>
<h1>livernode admin</h1>
<nav>
  <a href="/healthz">/healthz</a>
  <a href="/readyz">/readyz</a>
  <a href="/metrics">/metrics</a>
  <button type="button" id="show-metrics">show metrics here</button>
  <button type="button" id="refresh">Refresh</button>
  <label><input type="checkbox" id="auto-refresh" checked> refresh every 10 s</label>
  <span id="updated"></span>
</nav>

<form id="auth">
  <label for="token-input">Bearer token (<span class="mono">http.token</span>):</label>
  <input type="password" id="token-input" autocomplete="off" size="32">
  <button type="submit">Use token</button>
  <button type="button" id="forget-token">Forget token</button>
  <div id="auth-status"></div>
  <div class="empty">Kept in this tab only (sessionStorage) and sent as
    <span class="mono">Authorization: Bearer ...</span>; /metrics opened as a link has no token.</div>
</form>

<div id="error" class="error"></div>

<h2>Studies</h2>
<div id="studies-search">
  <label for="study-filter">Find:</label>
  <input type="search" id="study-filter" autocomplete="off"
    placeholder="accession, date (2026-11-01 or 20261101), description, UID, AE...">
  <span id="study-count" class="empty"></span>
</div>
<div id="studies" class="data"></div>

<h2>Job queue</h2>
<div id="jobs" class="data"></div>

<h2>Outbox per destination</h2>
<div id="outbox-summary" class="data"></div>

<h2>Dead letters</h2>
<p><button type="button" id="requeue-all" disabled>Re-queue all dead letters</button>
  <span id="requeue-status"></span></p>
<div id="dead-letters" class="data"></div>

<h2>Recent deliveries</h2>
<div id="deliveries" class="data"></div>

<h2>Effective configuration (secrets masked)</h2>
<pre id="config"></pre>

<h2 id="metrics-title" hidden>Metrics</h2>
<pre id="metrics" hidden></pre>

<script>
(function () {
  'use strict';
  var KEY = 'livernode.token';
  var $ = function (id) { return document.getElementById(id); };

  // The token may come in the URL fragment (#token=...), which browsers never send to the
  // server; it is moved into sessionStorage and removed from the address bar and history.
  var fragment = new URLSearchParams(location.hash.replace(/^#/, ''));
  var fragmentToken = fragment.get('token');
  if (fragmentToken) sessionStorage.setItem(KEY, fragmentToken);
  // "requeue-all" is the Re-queue all button as a link; honoured only together with the token
  // in the same fragment, so a link without the token cannot trigger it.
  var requeueAllOnLoad = !!fragmentToken && fragment.has('requeue-all');
  // "q" fills the studies' search box (a link to a search).
  if (fragment.get('q')) $('study-filter').value = fragment.get('q');
  if (location.hash) history.replaceState(null, '', location.pathname + location.search);

  function token() { return sessionStorage.getItem(KEY) || ''; }

  function AuthError() { this.message = 'token required'; }

  function api(path, method, as) {
    var headers = {};
    if (token()) headers.Authorization = 'Bearer ' + token();
    return fetch(path, { method: method || 'GET', headers: headers, cache: 'no-store' })
      .then(function (r) {
        if (r.status === 401) throw new AuthError();
        if (!r.ok) return r.text().then(function (t) { throw new Error(path + ': HTTP ' + r.status + ' ' + t); });
        return as === 'text' ? r.text() : r.json();
      });
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function time(s) {
    if (!s) return '';
    return new Date(s * 1000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
  }
  function duration(from, to) {
    if (!from || !to || to < from) return '';
    var d = to - from;
    if (d < 60) return d.toFixed(1) + ' s';
    if (d < 3600) return (d / 60).toFixed(1) + ' min';
    return (d / 3600).toFixed(1) + ' h';
  }
  function stateCell(state) { return { text: state, cls: 'state-' + state }; }
  // A UID shortened to the cell, whole in its tooltip and its text.
  function uid(u) {
    if (!u) return '';
    var e = el('span', u, 'uid mono');
    e.title = u;
    return e;
  }
  function wrapped(text, cls) {
    if (!text) return '';
    var e = el('span', text, 'wrap' + (cls ? ' ' + cls : ''));
    e.title = text;
    return e;
  }
  // DICOM DA (YYYYMMDD) and TM (HHMMSS.F) as "YYYY-MM-DD HH:MM".
  function dicomDate(da) {
    return /^\d{8}$/.test(da || '') ? da.slice(0, 4) + '-' + da.slice(4, 6) + '-' + da.slice(6, 8) : (da || '');
  }
  function dicomTime(tm) {
    var t = (tm || '').replace(/[^0-9]/g, '');
    return t.length >= 4 ? t.slice(0, 2) + ':' + t.slice(2, 4) : '';
  }

  // columns: [title, function(row) -> value | {text, cls} | Node]
  function table(target, rows, columns, emptyText) {
    var box = $(target);
    box.replaceChildren();
    if (!rows.length) { box.appendChild(el('p', emptyText, 'empty')); return; }
    var t = el('table'), head = el('tr');
    columns.forEach(function (c) { head.appendChild(el('th', c[0])); });
    t.appendChild(head);
    rows.forEach(function (row) {
      var tr = el('tr');
      columns.forEach(function (c) {
        var v = c[1](row), td = el('td');
        if (v instanceof Node) td.appendChild(v);
        else if (v !== null && typeof v === 'object') { td.textContent = v.text; td.className = v.cls; }
        else {
          td.textContent = v === undefined || v === null ? '' : String(v);
          if (typeof v === 'number') td.className = 'num';
        }
        tr.appendChild(td);
      });
      t.appendChild(tr);
    });
    box.appendChild(t);
    markScrolling(box);
  }

  function markScrolling(box) {
    box.classList.toggle('scrolls', box.scrollWidth > box.clientWidth + 1);
  }

  // Newest first: by study date and time, or, without them, by when the study arrived.
  function newness(s) {
    if (/^\d{8}$/.test(s.study_date || ''))
      return s.study_date + ((s.study_time || '').replace(/[^0-9]/g, '') + '000000').slice(0, 6);
    return s.first_arrival
        ? new Date(s.first_arrival * 1000).toISOString().replace(/[^0-9]/g, '').slice(0, 14) : '';
  }

  // The last error of a study: its visit's latest job's, else its newest undelivered delivery's.
  function lastError(s, deliveryErrors) {
    var j = s.jobs && s.jobs[0];
    if (j && j.error) return 'job v' + j.version + ': ' + j.error;
    return deliveryErrors[s.visit_study_instance_uid] || deliveryErrors[s.study_instance_uid] || '';
  }

  // Every value of the row a search can match, lower case.
  function searchText(s) {
    return [s.accession_number, s.study_date, dicomDate(s.study_date), s.study_time,
            s.modality, s.study_description, s.study_instance_uid, s.visit_study_instance_uid,
            s.state, s.calling_ae, s.last_error].join(' ').toLowerCase();
  }

  var allStudies = [];
  function showStudies(studies, deliveries) {
    var deliveryErrors = {};
    (deliveries || []).slice().sort(function (a, b) { return a.id - b.id; }).forEach(function (r) {
      if (r.last_error && r.state !== 'delivered')
        deliveryErrors[r.study_instance_uid] = r.destination + ': ' + r.last_error;
    });
    allStudies = studies.map(function (s) {
      s.last_error = lastError(s, deliveryErrors);
      s.newness = newness(s);
      return s;
    }).sort(function (a, b) {
      if (a.newness !== b.newness) return a.newness < b.newness ? 1 : -1;
      return (b.first_arrival || 0) - (a.first_arrival || 0);
    });
    filterStudies();
  }

  function filterStudies() {
    var terms = $('study-filter').value.toLowerCase().split(/\s+/).filter(Boolean);
    var found = allStudies.filter(function (s) {
      var text = searchText(s);
      return terms.every(function (t) { return text.indexOf(t) >= 0; });
    });
    var shown = found.slice(0, 200);
    $('study-count').textContent = terms.length
        ? found.length + ' of ' + allStudies.length + ' studies match' +
          (shown.length < found.length ? ' (first ' + shown.length + ' shown)' : '')
        : (shown.length < found.length ? 'newest ' + shown.length + ' of ' + found.length + ' shown' : '');
    table('studies', shown, [
      ['study date', function (s) { return (dicomDate(s.study_date) + ' ' + dicomTime(s.study_time)).trim(); }],
      ['accession', function (s) { return { text: s.accession_number, cls: 'mono' }; }],
      ['modality', function (s) { return s.modality; }],
      ['description', function (s) { return wrapped(s.study_description); }],
      // The lead study of its visit under the UID when another study leads it (section 3.3 of
      // the admin guide).
      ['Study Instance UID', function (s) {
        var box = el('span');
        box.appendChild(uid(s.study_instance_uid));
        if (s.visit_study_instance_uid && s.visit_study_instance_uid !== s.study_instance_uid) {
          box.appendChild(el('br'));
          box.appendChild(el('span', 'analysed with ', 'empty'));
          box.appendChild(uid(s.visit_study_instance_uid));
        }
        return box;
      }],
      ['state', function (s) { return stateCell(s.state); }],
      ['instances', function (s) { return s.instances; }],
      ['series (analysed)', function (s) { return s.series.length + ' (' + s.analysed_series + ')'; }],
      ['MB', function (s) { return Math.round(s.bytes / 1e5) / 10; }],
      ['calling AE', function (s) { return s.calling_ae; }],
      ['received (UTC)', function (s) {
        var e = el('span', time(s.first_arrival).replace(' UTC', ''));
        var took = duration(s.first_arrival, s.last_arrival);
        e.title = 'first instance ' + time(s.first_arrival) + ', last ' + time(s.last_arrival) +
            (took ? ', receiving took ' + took : '');
        return e;
      }],
      ['latest job', function (s) {
        var j = s.jobs && s.jobs[0];
        return j ? { text: 'v' + j.version + ' ' + j.state, cls: 'state-' + j.state } : '';
      }],
      ['last error', function (s) { return wrapped(s.last_error, 'error'); }]
    ], terms.length ? 'No study matches "' + $('study-filter').value + '".' : 'No studies received yet.');
  }

  function showJobs(jobs) {
    table('jobs', jobs.slice(0, 200), [
      ['id', function (j) { return j.id; }],
      ['Study Instance UID', function (j) { return uid(j.study_instance_uid); }],
      ['version', function (j) { return j.version; }],
      ['kind', function (j) { return j.kind || 'analysis'; }],
      ['state', function (j) { return stateCell(j.state); }],
      ['attempts', function (j) { return j.attempts; }],
      ['created', function (j) { return time(j.created_at); }],
      ['waited', function (j) { return duration(j.created_at, j.started_at); }],
      ['ran', function (j) { return duration(j.started_at, j.finished_at); }],
      ['objects', function (j) { return j.objects; }],
      ['error', function (j) { return { text: j.error, cls: j.error ? 'error text' : '' }; }]
    ], 'No jobs.');
  }

  function showSummary(summary) {
    var rows = Object.keys(summary).sort().map(function (d) {
      var s = summary[d];
      return { destination: d, pending: s.pending || 0, delivered: s.delivered || 0, dead: s.dead || 0 };
    });
    table('outbox-summary', rows, [
      ['destination', function (r) { return r.destination; }],
      ['pending', function (r) { return r.pending; }],
      ['delivered', function (r) { return r.delivered; }],
      ['dead', function (r) { return r.dead ? { text: String(r.dead), cls: 'state-dead' } : 0; }],
      ['total', function (r) { return r.pending + r.delivered + r.dead; }]
    ], 'Nothing queued for any destination.');
  }

  var deliveryColumns = [
    ['id', function (r) { return r.id; }],
    ['destination', function (r) { return r.destination; }],
    ['kind', function (r) { return r.kind; }],
    ['state', function (r) { return stateCell(r.state); }],
    ['attempts', function (r) { return r.attempts; }],
    ['Study Instance UID', function (r) { return uid(r.study_instance_uid); }],
    ['SOP Instance UID', function (r) { return uid(r.sop_instance_uid); }],
    ['last error', function (r) { return wrapped(r.last_error); }]
  ];

  function requeue(id) {
    return api('/api/outbox/' + encodeURIComponent(id) + '/requeue', 'POST');
  }

  function showDead(rows) {
    $('requeue-all').disabled = rows.length === 0;
    table('dead-letters', rows, [
      ['', function (r) {
        var b = el('button', 'Re-queue');
        b.type = 'button';
        b.className = 'requeue';
        b.dataset.id = String(r.id);
        b.addEventListener('click', function () {
          b.disabled = true;
          requeue(r.id).then(function () {
            $('requeue-status').textContent = 'Re-queued delivery ' + r.id + '.';
          }).catch(showError).then(refresh);
        });
        return b;
      }]
    ].concat(deliveryColumns), 'No dead letters.');
  }

  function showError(e) {
    if (e instanceof AuthError) {
      var s = $('auth-status');
      s.textContent = token()
        ? 'Token required: the node refused this token (401). Enter the token configured as http.token.'
        : 'Token required: this node answers 401 without its bearer token. Enter the token configured as http.token.';
      s.className = 'required';
      return;
    }
    $('error').textContent = 'Error: ' + (e && e.message ? e.message : String(e));
  }

  var refreshing = null;
  function refresh() {
    // One refresh at a time; a request during one (e.g. after a re-queue) runs after it.
    if (refreshing) return refreshing.then(function () { return refresh(); });
    $('error').textContent = '';
    refreshing = Promise.all([
      api('/api/studies'), api('/api/jobs'), api('/api/outbox/summary'),
      api('/api/outbox?state=dead'), api('/api/outbox'), api('/api/config', 'GET', 'text')
    ]).then(function (r) {
      var s = $('auth-status');
      s.textContent = token() ? 'Token accepted.' : 'This node does not ask for a token.';
      s.className = 'ok';
      showStudies(r[0], r[4]);
      showJobs(r[1]);
      showSummary(r[2]);
      showDead(r[3]);
      table('deliveries', r[4].slice(0, 200), deliveryColumns, 'No deliveries.');
      $('config').textContent = r[5];
      $('updated').textContent = 'updated ' + new Date().toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
      document.body.dataset.loaded = 'true';
    }).catch(showError).then(function () { refreshing = null; });
    return refreshing;
  }

  function requeueAll() {
    var buttons = Array.prototype.slice.call(document.querySelectorAll('button.requeue'));
    var ids = buttons.map(function (b) { return b.dataset.id; });
    $('requeue-all').disabled = true;
    var done = 0;
    return ids.reduce(function (p, id) {
      return p.then(function () { return requeue(id).then(function () { done++; }); });
    }, Promise.resolve()).then(function () {
      $('requeue-status').textContent = 'Re-queued ' + done + ' dead letter(s).';
    }).catch(showError).then(refresh);
  }

  $('auth').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var v = $('token-input').value.trim();
    if (v) sessionStorage.setItem(KEY, v); else sessionStorage.removeItem(KEY);
    $('token-input').value = '';
    refresh();
  });
  $('forget-token').addEventListener('click', function () {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
  $('refresh').addEventListener('click', refresh);
  $('study-filter').addEventListener('input', filterStudies);
  window.addEventListener('resize', function () {
    Array.prototype.forEach.call(document.querySelectorAll('div.data'), markScrolling);
  });
  $('requeue-all').addEventListener('click', requeueAll);
  $('show-metrics').addEventListener('click', function () {
    api('/metrics', 'GET', 'text').then(function (t) {
      $('metrics').textContent = t;
      $('metrics').hidden = false;
      $('metrics-title').hidden = false;
    }).catch(showError);
  });
  setInterval(function () { if ($('auto-refresh').checked) refresh(); }, 10000);

  refresh().then(function () { if (requeueAllOnLoad) return requeueAll(); });
})();
</script>
</body>
</html>
)HTML";

}  // namespace

std::string_view admin_page_html() { return kAdminPage; }

void add_study_header_json(nlohmann::json& study, const StudyRow& row) {
  study["accession_number"] = row.accession_number;
  study["study_date"] = row.study_date;
  study["study_time"] = row.study_time;
  study["modality"] = row.modality;
  study["study_description"] = row.study_description;
}

}  // namespace livernode::node
