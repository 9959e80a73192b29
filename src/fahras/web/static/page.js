/* Fahras — the indexers' page.  Plain JavaScript, no dependencies, no build step.
 * It talks to the service only through its HTTP API: /v1/fahras/... and /readyz.
 */
(function () {
  'use strict';

  var config = JSON.parse(document.getElementById('page-config').textContent);
  var $ = function (id) { return document.getElementById(id); };

  var SLOW_AFTER_MS = 3000;          // "the server is slow" after this long
  var TIMEOUT_MS = 20000;            // ordinary requests
  var SUGGEST_TIMEOUT_MS = 120000;   // scoring a long document may take a while
  var SEARCH_TIMEOUT_MS = 8000;
  var SHOWN = 20;                    // suggestions asked for (the decided ones are marked)

  var state = {
    lang: config.lang,
    project: config.project,
    doc: null,            // {id, symbol, name, language, text}
    results: [],          // the suggest endpoint's results
    marks: {},            // uri -> 'accepted' | 'rejected'
    added: [],            // concepts (as the concepts endpoint gives them)
    selected: -1,
    queue: null,          // {documents: [...], pos: n}
    saving: false
  };

  // ---------------------------------------------------------------- words
  function t(key, params) {
    var table = config.strings[state.lang] || config.strings.en;
    var text = table[key] || config.strings.en[key] || key;
    if (params) {
      Object.keys(params).forEach(function (name) { text = text.split('{' + name + '}').join(String(params[name])); });
    }
    return text;
  }

  function applyLanguage() {
    var info = config.languages[state.lang] || {dir: 'ltr'};
    document.documentElement.lang = state.lang;
    document.documentElement.dir = info.dir;
    document.querySelectorAll('[data-i18n]').forEach(function (node) { node.textContent = t(node.dataset.i18n); });
    document.querySelectorAll('.languages a').forEach(function (a) {
      if (a.dataset.lang === state.lang) { a.setAttribute('aria-current', 'true'); } else { a.removeAttribute('aria-current'); }
      a.href = pageAddress(a.dataset.lang);
    });
  }

  function pageAddress(lang) {
    var params = new URLSearchParams();
    params.set('lang', lang || state.lang);
    if (state.project) { params.set('project', state.project); }
    if (state.doc && state.doc.key) { params.set('doc', state.doc.key); }
    return '/?' + params.toString();
  }

  function rememberAddress() {
    history.replaceState(null, '', pageAddress());
  }

  function labelOf(item) {
    if (item.labels && item.labels[state.lang]) { return item.labels[state.lang]; }
    return item.label || item.uri;
  }

  // ---------------------------------------------------------------- status line
  var lastAction = null;

  function showStatus(kind, text, retry) {
    var box = $('status');
    box.hidden = false;
    box.className = 'status ' + kind;
    $('status-text').textContent = text;
    $('retry').hidden = !retry;
  }

  function clearStatus() {
    $('status').hidden = true;
    $('retry').hidden = true;
  }

  function ApiError(status, message) {
    this.status = status;
    this.message = message;
  }

  function problemText(data, response) {
    if (data && typeof data === 'object') {
      if (data.detail && typeof data.detail === 'string') { return data.detail; }
      if (data.title) { return data.title; }
      if (Array.isArray(data.detail) && data.detail.length) { return data.detail[0].msg || JSON.stringify(data.detail[0]); }
    }
    return response.status + ' ' + (response.statusText || '');
  }

  /* One HTTP request with a time limit.  Unless `quiet`, the status line says
   * "working", then "slow" after SLOW_AFTER_MS; the caller reports failures. */
  function api(method, path, options) {
    options = options || {};
    var controller = new AbortController();
    var timeout = options.timeout || TIMEOUT_MS;
    var timer = setTimeout(function () { controller.abort(); }, timeout);
    var slowTimer = null;
    if (!options.quiet) {
      showStatus('busy', t('working'));
      slowTimer = setTimeout(function () { showStatus('busy slow', t('slow')); }, SLOW_AFTER_MS);
    }
    var headers = {'Accept': 'application/json'};
    var key = $('api-key').value.trim();
    if (key) {
      headers['Authorization'] = 'Bearer ' + key;
      headers['X-API-Key'] = key;
    }
    var body = options.body;
    if (options.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.json);
    }
    return fetch(path, {method: method, headers: headers, body: body, signal: controller.signal,
                        credentials: 'same-origin', cache: 'no-store'})
      .then(function (response) {
        var type = response.headers.get('content-type') || '';
        var parsed = type.indexOf('json') >= 0 ? response.json().catch(function () { return null; }) : Promise.resolve(null);
        return parsed.then(function (data) {
          if (!response.ok) { throw new ApiError(response.status, problemText(data, response)); }
          return data;
        });
      }, function (error) {
        if (error && error.name === 'AbortError') {
          throw new ApiError(0, t('down') + ' (' + Math.round(timeout / 1000) + ' s)');
        }
        throw new ApiError(0, t('down'));
      })
      .finally(function () {
        clearTimeout(timer);
        if (slowTimer) { clearTimeout(slowTimer); }
      });
  }

  /* Run an action that talks to the server; on failure offer to retry it. */
  function run(action) {
    lastAction = action;
    return Promise.resolve().then(action).then(function (message) {
      if (message) { showStatus('ok', message); } else { clearStatus(); }
    }, function (error) {
      if (error instanceof ApiError) {
        var text = error.status ? t('failed') + ' (' + error.status + ')' + t('sep') + error.message : error.message;
        showStatus('error', text, true);
      } else {
        showStatus('error', t('failed') + t('sep') + (error && error.message ? error.message : String(error)), true);
        if (window.console) { console.error(error); }
      }
    });
  }

  $('retry').addEventListener('click', function () {
    if (lastAction) { run(lastAction); }
  });

  function projectPath(suffix) {
    return '/v1/fahras/projects/' + encodeURIComponent(state.project) + suffix;
  }

  // ---------------------------------------------------------------- opening documents
  function textId(text) {
    // FNV-1a: the same pasted text gets the same document id
    var hash = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    return 'text-' + ('0000000' + hash.toString(16)).slice(-8);
  }

  /* Suggest for a file (a File or Blob with a name) or for pasted text. */
  function suggest(source, known) {
    if (!state.project) { return Promise.reject(new ApiError(0, t('no_projects'))); }
    var params = new URLSearchParams({explain: 'true', all_labels: 'true', label_language: state.lang,
                                      limit: String(SHOWN)});
    if (known && known.language) { params.set('language', known.language); }
    var form = new FormData();
    params.forEach(function (value, name) { form.append(name, value); });
    if (source.file) { form.append('file', source.file, source.name); } else { form.append('text', source.text); }
    return api('POST', projectPath('/suggest?' + params.toString()), {body: form, timeout: SUGGEST_TIMEOUT_MS})
      .then(function (data) { showDocument(data, source, known || {}); });
  }

  function stem(name) {
    var base = String(name || '').split(/[\\/]/).pop();
    var dot = base.lastIndexOf('.');
    return dot > 0 ? base.slice(0, dot) : base;
  }

  function showDocument(data, source, known) {
    var documentInfo = data.document || {};
    var text = typeof documentInfo.text === 'string' ? documentInfo.text : (source.text || '');
    state.doc = {
      id: known.id || (source.file ? stem(source.name || documentInfo.name) : textId(text)),
      key: known.key || null,
      symbol: known.symbol || documentInfo.symbol || null,
      name: documentInfo.name || source.name || '',
      language: documentInfo.language || known.language || null,
      text: text
    };
    state.results = Array.isArray(data.results) ? data.results : [];
    state.marks = {};
    state.added = [];
    state.selected = state.results.length ? 0 : -1;
    $('summary').textContent = '';
    rememberAddress();
    renderDocumentMeta();
    renderSuggestions();
    renderAdded();
    select(state.selected, false);
    $('open-panel').open = false;
    if (known.decision) { return applyDecision(known.decision); }
    return null;
  }

  /* A decision already saved for this document: show it as the starting point. */
  function applyDecision(decision) {
    (decision.accepted || []).forEach(function (uri) { state.marks[uri] = 'accepted'; });
    (decision.rejected || []).forEach(function (uri) { state.marks[uri] = 'rejected'; });
    var extra = (decision.added || []).filter(function (uri) { return !state.results.some(function (r) { return r.uri === uri; }); });
    (decision.added || []).forEach(function (uri) {
      if (state.results.some(function (r) { return r.uri === uri; })) { state.marks[uri] = 'accepted'; }
    });
    renderSuggestions();
    return Promise.all(extra.map(function (uri) {
      return api('GET', projectPath('/concepts/' + encodeURIComponent(uri) + '?lang=' + state.lang), {quiet: true})
        .catch(function () { return {uri: uri, label: uri}; });
    })).then(function (concepts) {
      concepts.forEach(function (concept) { if (concept) { state.added.push(concept.results ? concept.results[0] : concept); } });
      renderAdded();
    });
  }

  function openKey(key) {
    key = key.trim();
    if (!key) { return Promise.resolve(); }
    return api('GET', '/v1/fahras/documents/' + encodeURIComponent(key)).then(function (found) {
      if (found.project && found.project !== state.project && config.projects.some(function (p) { return p.id === found.project; })) {
        state.project = found.project;
        $('project').value = found.project;
      }
      var id = found.document_id || key;
      // sent as a file so the service reads it exactly as an uploaded one (UN export header and all)
      var name = stem(id).replace(/[^A-Za-z0-9_.-]+/g, '_') + '.txt';
      var file = new Blob([found.text || ''], {type: 'text/plain'});
      return suggest({file: file, name: name}, {id: id, key: key, symbol: found.symbol, language: found.language,
                                                 decision: found.decision});
    });
  }

  $('paste-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var text = $('paste-text').value;
    if (!text.trim()) { showStatus('error', t('need_text')); return; }
    run(function () { return suggest({text: text}); });
  });

  $('file').addEventListener('change', function () {
    var file = $('file').files[0];
    $('file-name').textContent = file ? file.name : '';
    if (file) { run(function () { return suggest({file: file, name: file.name}); }); }
  });

  $('key-form').addEventListener('submit', function (event) {
    event.preventDefault();
    var keys = $('doc-key').value.split(/[,;\n]+/).map(function (k) { return k.trim(); }).filter(Boolean);
    if (keys.length > 1) {
      // a list of documents: a queue of its own
      state.queue = {documents: keys.map(function (k) { return {document_id: k, name: k, decided: false}; }), pos: 0};
      run(function () { return openQueueItem(0); });
    } else if (keys.length === 1) {
      state.queue = null;
      renderQueue();
      run(function () { return openKey(keys[0]); });
    }
  });

  var dropZone = document.querySelector('.document-pane');   // a file may be dropped anywhere on the document's side
  ['dragenter', 'dragover'].forEach(function (name) {
    dropZone.addEventListener(name, function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, 'Files') >= 0) {
        event.preventDefault();
        dropZone.classList.add('dragging');
      }
    });
  });
  ['dragleave', 'drop'].forEach(function (name) {
    dropZone.addEventListener(name, function () { dropZone.classList.remove('dragging'); });
  });
  dropZone.addEventListener('drop', function (event) {
    var file = event.dataTransfer && event.dataTransfer.files[0];
    if (file) {
      event.preventDefault();
      run(function () { return suggest({file: file, name: file.name}); });
    }
  });

  // ---------------------------------------------------------------- queue
  function openQueueItem(pos) {
    var queue = state.queue;
    if (!queue) { return Promise.resolve(); }
    if (pos >= queue.documents.length) {
      renderQueue();
      return Promise.resolve(t('queue_end'));
    }
    queue.pos = Math.max(0, pos);
    renderQueue();
    return openKey(queue.documents[queue.pos].document_id);
  }

  function renderQueue() {
    var queue = state.queue;
    $('queue-nav').hidden = !queue;
    if (!queue) { return; }
    $('queue-pos').textContent = t('queue_pos', {n: queue.pos + 1, total: queue.documents.length});
    $('queue-prev').disabled = queue.pos <= 0;
    $('queue-next').disabled = queue.pos >= queue.documents.length - 1;
  }

  function startQueue() {
    return api('GET', projectPath('/queue')).then(function (data) {
      var documents = (data && data.documents) || [];
      if (!documents.length) { state.queue = null; renderQueue(); return t('queue_empty'); }
      var first = documents.findIndex(function (d) { return !d.decided; });
      state.queue = {documents: documents, pos: first < 0 ? 0 : first};
      return openQueueItem(state.queue.pos);
    });
  }

  function nextInQueue() {
    if (!state.queue) { return; }
    run(function () { return openQueueItem(state.queue.pos + 1); });
  }

  $('queue-start').addEventListener('click', function () { run(startQueue); });
  $('queue-next').addEventListener('click', nextInQueue);
  $('queue-prev').addEventListener('click', function () {
    if (state.queue) { run(function () { return openQueueItem(state.queue.pos - 1); }); }
  });

  // ---------------------------------------------------------------- rendering
  function el(tag, attributes, children) {
    var node = document.createElement(tag);
    Object.keys(attributes || {}).forEach(function (name) {
      var value = attributes[name];
      if (value === null || value === undefined || value === false) { return; }
      if (name === 'text') { node.textContent = value; } else if (name === 'className') { node.className = value; } else { node.setAttribute(name, value === true ? '' : value); }
    });
    (children || []).forEach(function (child) { if (child) { node.append(child); } });
    return node;
  }

  function renderDocumentMeta() {
    var meta = $('document-meta');
    meta.replaceChildren();
    if (!state.doc) { return; }
    var parts = [state.doc.symbol || state.doc.id];
    if (state.doc.name && stem(state.doc.name) !== state.doc.id && state.doc.name !== parts[0] && state.doc.name !== 'text') {
      parts.push(state.doc.name);
    }
    meta.append(el('bdi', {dir: 'ltr', text: parts.join(' · ')}));
    if (state.doc.language) {
      var name = (config.languages[state.doc.language] || {}).name || state.doc.language;
      meta.append(' — ' + t('doc_language') + t('sep'), el('bdi', {lang: state.doc.language, text: name}));
    }
    var box = $('doc-text');
    box.lang = state.doc.language || '';
    box.dir = state.doc.language ? ((config.languages[state.doc.language] || {}).dir || 'ltr') : 'auto';
  }

  function renderSuggestions() {
    var list = $('suggestions');
    list.replaceChildren();
    $('no-suggestions').hidden = !state.doc || state.results.length > 0;
    state.results.forEach(function (result, index) {
      var mark = state.marks[result.uri] || '';
      var score = Math.max(0, Math.min(1, Number(result.score) || 0));
      var fill = el('span', {className: 'fill'});
      fill.style.inlineSize = (score * 100).toFixed(1) + '%';
      var pick = el('button', {type: 'button', className: 'pick', id: 'pick-' + index, 'data-index': index,
                               'aria-current': index === state.selected ? 'true' : false}, [
        el('span', {className: 'rank', text: String(index + 1), 'aria-hidden': 'true'}),
        el('span', {className: 'name'}, [
          el('span', {className: 'label', lang: result.labels && result.labels[state.lang] ? state.lang : false, dir: 'auto',
                      text: labelOf(result)}),
          result.decided ? el('span', {className: 'badge decided', text: t('decided')}) : null,
          result.local ? el('span', {className: 'badge local', text: t('local')}) : null
        ]),
        el('span', {className: 'bar', role: 'img', 'aria-label': t('score') + ' ' + score.toFixed(2)}, [fill]),
        el('span', {className: 'value', text: score.toFixed(2), 'aria-hidden': 'true', dir: 'ltr'})
      ]);
      var accept = toggleButton(index, 'accepted', mark === 'accepted', '✓', t('accept'), labelOf(result));
      var reject = toggleButton(index, 'rejected', mark === 'rejected', '✗', t('reject'), labelOf(result));
      var item = el('li', {className: 'suggestion ' + mark + (result.decided ? ' is-decided' : ''), 'data-uri': result.uri},
                    [pick, el('span', {className: 'actions'}, [accept, reject])]);
      list.append(item);
    });
    // one tab stop for the list: the selected descriptor
    list.querySelectorAll('.pick').forEach(function (button) {
      button.tabIndex = Number(button.dataset.index) === Math.max(state.selected, 0) ? 0 : -1;
    });
    $('accept-picks').disabled = !state.results.some(function (r) { return r.decided; });
    $('save').disabled = !state.doc || state.saving;
    renderSummary();
  }

  function toggleButton(index, action, pressed, icon, name, label) {
    return el('button', {type: 'button', className: 'toggle ' + action, 'aria-pressed': pressed ? 'true' : 'false',
                         'data-action': action, 'data-index': index, tabindex: '-1', title: name + t('sep') + label}, [
      el('span', {'aria-hidden': 'true', text: icon}), el('span', {className: 'visually-hidden', text: name})
    ]);
  }

  function renderSummary() {
    if (!state.doc) { $('summary').textContent = ''; return; }
    var counts = decisionLists();
    $('summary').textContent = t('summary', {a: counts.accepted.length, r: counts.rejected.length, d: counts.added.length});
  }

  $('suggestions').addEventListener('click', function (event) {
    var button = event.target.closest('button');
    if (!button) { return; }
    var index = Number(button.dataset.index);
    if (button.classList.contains('pick')) {
      select(index, true);
    } else if (button.dataset.action) {
      select(index, false);
      toggleMark(index, button.dataset.action);
    }
  });

  function select(index, focus) {
    if (!state.results.length) {
      state.selected = -1;
      renderText([]);
      $('evidence').hidden = true;
      return;
    }
    index = Math.max(0, Math.min(state.results.length - 1, index));
    state.selected = index;
    document.querySelectorAll('#suggestions .pick').forEach(function (button) {
      var on = Number(button.dataset.index) === index;
      if (on) { button.setAttribute('aria-current', 'true'); } else { button.removeAttribute('aria-current'); }
      button.tabIndex = on ? 0 : -1;
      button.closest('li').classList.toggle('selected', on);
    });
    var current = $('pick-' + index);
    if (focus && current) { current.focus(); }
    if (current) { current.closest('li').scrollIntoView({block: 'nearest'}); }
    showEvidence(state.results[index]);
  }

  function showEvidence(result) {
    var spans = (result && Array.isArray(result.evidence)) ? result.evidence : [];
    var marks = renderText(spans);
    var list = $('evidence-list');
    list.replaceChildren();
    $('evidence').hidden = !result;
    $('no-evidence').hidden = marks.length > 0;
    // one button per distinct wording, in the order of the text; it steps through its occurrences
    var groups = [];
    var byText = {};
    marks.forEach(function (mark, n) {
      var key = mark.textContent.toLocaleLowerCase();
      if (!(key in byText)) { byText[key] = groups.length; groups.push({text: mark.textContent, marks: []}); }
      groups[byText[key]].marks.push(n);
    });
    groups.forEach(function (group, g) {
      var button = el('button', {type: 'button', className: 'span-link', 'data-group': g, dir: 'auto'},
                      [el('span', {text: group.text}),
                       group.marks.length > 1 ? el('span', {className: 'count', dir: 'ltr', text: '×' + group.marks.length}) : null]);
      list.append(el('li', {}, [button]));
    });
    evidenceGroups = groups;
    if (marks.length) { scrollToMark(marks[0]); }
  }

  var evidenceGroups = [];
  $('evidence-list').addEventListener('click', function (event) {
    var button = event.target.closest('button[data-group]');
    if (!button) { return; }
    var group = evidenceGroups[Number(button.dataset.group)];
    if (!group) { return; }
    var marks = $('doc-text').querySelectorAll('mark');
    var current = Array.prototype.indexOf.call(marks, $('doc-text').querySelector('mark.current'));
    var at = group.marks.indexOf(current);
    var next = group.marks[(at + 1) % group.marks.length];
    if (marks[next]) { scrollToMark(marks[next]); }
  });

  /* The document text with `spans` (offsets into state.doc.text) highlighted; returns the <mark>s. */
  function renderText(spans) {
    var box = $('doc-text');
    box.replaceChildren();
    if (!state.doc) {
      box.append(el('p', {className: 'empty', 'data-i18n': 'no_document', text: t('no_document')}));
      return [];
    }
    var text = state.doc.text;
    var valid = spans.filter(function (s) {
      return Number.isInteger(s.start) && Number.isInteger(s.end) && s.start >= 0 && s.end > s.start && s.end <= text.length;
    }).sort(function (a, b) { return a.start - b.start || b.end - a.end; });
    var pos = 0;
    var marks = [];
    valid.forEach(function (span) {
      if (span.end <= pos) { return; }
      var start = Math.max(span.start, pos);
      if (start > pos) { box.append(document.createTextNode(text.slice(pos, start))); }
      var mark = el('mark', {text: text.slice(start, span.end)});
      if (span.backend) { mark.title = span.backend + (typeof span.score === 'number' ? ' ' + span.score.toFixed(2) : ''); }
      box.append(mark);
      marks.push(mark);
      pos = span.end;
    });
    if (pos < text.length) { box.append(document.createTextNode(text.slice(pos))); }
    return marks;
  }

  function scrollToMark(mark) {
    var box = $('doc-text');
    box.querySelectorAll('mark.current').forEach(function (m) { m.classList.remove('current'); });
    mark.classList.add('current');
    // scroll the text box only (not the page): the mark a third of the way down
    var boxRect = box.getBoundingClientRect();
    var markRect = mark.getBoundingClientRect();
    box.scrollTop += (markRect.top - boxRect.top) - box.clientHeight / 3;
  }

  // ---------------------------------------------------------------- decisions
  function toggleMark(index, what) {
    var result = state.results[index];
    if (!result) { return; }
    state.marks[result.uri] = state.marks[result.uri] === what ? undefined : what;
    if (!state.marks[result.uri]) { delete state.marks[result.uri]; }
    var focused = document.activeElement && document.activeElement.id === 'pick-' + index;
    renderSuggestions();
    select(index, focused);
  }

  function acceptPicks() {
    state.results.forEach(function (result) {
      if (result.decided && !state.marks[result.uri]) { state.marks[result.uri] = 'accepted'; }
    });
    renderSuggestions();
    select(state.selected, false);
  }
  $('accept-picks').addEventListener('click', acceptPicks);

  function decisionLists() {
    var accepted = [];
    var rejected = [];
    state.results.forEach(function (result) {
      if (state.marks[result.uri] === 'accepted') { accepted.push(result.uri); }
      if (state.marks[result.uri] === 'rejected') { rejected.push(result.uri); }
    });
    return {accepted: accepted, rejected: rejected, added: state.added.map(function (c) { return c.uri; })};
  }

  function save() {
    if (!state.doc) { showStatus('error', t('need_document')); return; }
    if (state.saving) { return; }
    var lists = decisionLists();
    var payload = {
      document_id: state.doc.id,
      language: state.doc.language,
      text: state.doc.text,
      accepted: lists.accepted,
      rejected: lists.rejected,
      added: lists.added,
      shown: state.results.map(function (result, index) {
        return {uri: result.uri, label: (result.labels && result.labels.en) || result.label,
                score: Number(result.score) || 0, rank: index + 1};
      })
    };
    if (state.doc.symbol) { payload.symbol = state.doc.symbol; }
    var indexer = $('indexer').value.trim();
    if (indexer) { payload.indexer = indexer; }
    state.saving = true;
    $('save').disabled = true;
    run(function () {
      return api('POST', projectPath('/feedback'), {json: payload}).then(function (data) {
        if (state.queue && state.queue.documents[state.queue.pos]) { state.queue.documents[state.queue.pos].decided = true; }
        if (state.queue) { $('queue-next').focus(); }
        return t('saved', {id: data && data.id !== undefined ? data.id : '?'});
      });
    }).finally(function () {
      state.saving = false;
      $('save').disabled = !state.doc;
    });
  }
  $('save').addEventListener('click', save);

  // ---------------------------------------------------------------- adding descriptors
  var addInput = $('add-input');
  var addOptions = $('add-options');
  var searchSeq = 0;
  var searchTimer = null;
  var options = [];
  var activeOption = -1;

  function closeOptions() {
    addOptions.hidden = true;
    addOptions.replaceChildren();
    addInput.setAttribute('aria-expanded', 'false');
    addInput.removeAttribute('aria-activedescendant');
    options = [];
    activeOption = -1;
  }

  function conceptLines(concept) {
    var lines = [];
    if (concept.group && concept.group.label) {
      lines.push(el('span', {className: 'group'}, [t('group') + t('sep'), el('span', {text: concept.group.label})]));
    }
    var related = (concept.related || []).slice(0, 4).map(function (r) { return r.label || r.uri; });
    if (related.length) {
      lines.push(el('span', {className: 'related'}, [t('related') + t('sep'), el('span', {text: related.join(' · ')})]));
    }
    return lines;
  }

  function showOptions(results) {
    addOptions.replaceChildren();
    options = results;
    activeOption = results.length ? 0 : -1;
    if (!results.length) {
      addOptions.append(el('li', {className: 'no-match', role: 'option', 'aria-disabled': 'true', text: t('no_match')}));
    }
    results.forEach(function (concept, n) {
      var matched = concept.matched && concept.matched !== labelOf(concept)
        ? el('span', {className: 'matched', lang: concept.matched_language || false, dir: 'auto', text: concept.matched}) : null;
      addOptions.append(el('li', {role: 'option', id: 'add-option-' + n, 'data-n': n, 'data-uri': concept.uri,
                                  'aria-selected': n === 0 ? 'true' : 'false'}, [
        el('span', {className: 'option-label', text: labelOf(concept)}), matched
      ].concat(conceptLines(concept))));
    });
    addOptions.hidden = false;
    addInput.setAttribute('aria-expanded', 'true');
    markActive();
  }

  function markActive() {
    addOptions.querySelectorAll('[role=option]').forEach(function (node) {
      var on = Number(node.dataset.n) === activeOption;
      node.setAttribute('aria-selected', on ? 'true' : 'false');
      if (on) { node.scrollIntoView({block: 'nearest'}); }
    });
    if (activeOption >= 0) { addInput.setAttribute('aria-activedescendant', 'add-option-' + activeOption); } else { addInput.removeAttribute('aria-activedescendant'); }
  }

  function searchConcepts() {
    var query = addInput.value.trim();
    var seq = ++searchSeq;
    if (!query || !state.project) { closeOptions(); return; }
    var path = projectPath('/concepts?' + new URLSearchParams({q: query, lang: state.lang, limit: '8'}).toString());
    api('GET', path, {quiet: true, timeout: SEARCH_TIMEOUT_MS}).then(function (data) {
      if (seq !== searchSeq) { return; }           // a newer search is under way
      showOptions((data && data.results) || []);
    }, function (error) {
      if (seq !== searchSeq) { return; }
      closeOptions();
      showStatus('error', error.status ? t('failed') + ' (' + error.status + ')' + t('sep') + error.message : error.message, true);
      lastAction = function () { searchConcepts(); };
    });
  }

  addInput.addEventListener('input', function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(searchConcepts, 150);
  });

  addInput.addEventListener('keydown', function (event) {
    if (event.key === 'ArrowDown' || event.key === 'ArrowUp') {
      event.preventDefault();
      if (addOptions.hidden) { searchConcepts(); return; }
      if (!options.length) { return; }
      var step = event.key === 'ArrowDown' ? 1 : -1;
      activeOption = (activeOption + step + options.length) % options.length;
      markActive();
    } else if (event.key === 'Enter') {
      event.preventDefault();
      if (activeOption >= 0 && options[activeOption]) { addConcept(options[activeOption]); }
    } else if (event.key === 'Escape') {
      if (!addOptions.hidden) { event.preventDefault(); event.stopPropagation(); closeOptions(); }
    }
  });

  addInput.addEventListener('blur', function () { setTimeout(closeOptions, 150); });

  addOptions.addEventListener('mousedown', function (event) {
    var option = event.target.closest('[role=option][data-n]');
    if (!option) { return; }
    event.preventDefault();       // keep the focus in the input
    addConcept(options[Number(option.dataset.n)]);
  });

  function addConcept(concept) {
    if (!concept) { return; }
    var index = state.results.findIndex(function (r) { return r.uri === concept.uri; });
    if (index >= 0) {
      state.marks[concept.uri] = 'accepted';
      renderSuggestions();
      select(index, false);
    } else if (!state.added.some(function (c) { return c.uri === concept.uri; })) {
      state.added.push(concept);
      renderAdded();
    }
    addInput.value = '';
    closeOptions();
    renderSummary();
  }

  function renderAdded() {
    var list = $('added-list');
    list.replaceChildren();
    state.added.forEach(function (concept, n) {
      var remove = el('button', {type: 'button', className: 'remove', 'data-n': n,
                                 'aria-label': t('remove') + t('sep') + labelOf(concept)}, ['×']);
      list.append(el('li', {'data-uri': concept.uri}, [
        el('span', {className: 'option-label', text: labelOf(concept)})
      ].concat(conceptLines(concept), [remove])));
    });
    renderSummary();
  }

  $('added-list').addEventListener('click', function (event) {
    var button = event.target.closest('button.remove');
    if (!button) { return; }
    state.added.splice(Number(button.dataset.n), 1);
    renderAdded();
    addInput.focus();
  });

  // ---------------------------------------------------------------- projects and languages
  $('project').addEventListener('change', function () {
    state.project = $('project').value;
    state.queue = null;
    renderQueue();
    rememberAddress();
  });

  function relabelAdded() {
    // the added concepts' labels in the new language (the search endpoint gives one language)
    return Promise.all(state.added.map(function (concept, n) {
      return api('GET', projectPath('/concepts/' + encodeURIComponent(concept.uri) + '?lang=' + state.lang), {quiet: true})
        .then(function (fresh) { if (fresh && fresh.uri) { state.added[n] = fresh; } }, function () { return null; });
    })).then(renderAdded);
  }

  document.querySelector('.languages').addEventListener('click', function (event) {
    var link = event.target.closest('a[data-lang]');
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    event.preventDefault();
    state.lang = link.dataset.lang;
    applyLanguage();
    rememberAddress();
    renderDocumentMeta();
    renderSuggestions();
    renderAdded();
    if (state.selected >= 0) { select(state.selected, false); }
    relabelAdded();
  });

  // ---------------------------------------------------------------- keyboard
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener('keydown', function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      if (event.target === $('paste-text') && event.key === 'Enter') {
        event.preventDefault();
        $('paste-form').requestSubmit();
      }
      return;
    }
    if (typing(event.target)) {
      if (event.key === 'Escape') {
        event.target.blur();
        var current = $('pick-' + Math.max(state.selected, 0));
        if (current) { current.focus(); }
      }
      return;
    }
    var handled = true;
    switch (event.code) {
      case 'ArrowDown': select(state.selected + 1, true); break;
      case 'ArrowUp': select(state.selected - 1, true); break;
      case 'Home': if (state.results.length) { select(0, true); } else { handled = false; } break;
      case 'End': if (state.results.length) { select(state.results.length - 1, true); } else { handled = false; } break;
      case 'KeyA': toggleMark(state.selected, 'accepted'); break;
      case 'KeyR': toggleMark(state.selected, 'rejected'); break;
      case 'KeyD': addInput.focus(); break;
      case 'KeyS': save(); break;
      case 'KeyP': acceptPicks(); break;
      case 'KeyN': nextInQueue(); break;
      case 'KeyO': $('open-panel').open = true; $('paste-text').focus(); break;
      case 'Escape': var pick = $('pick-' + Math.max(state.selected, 0)); if (pick) { pick.focus(); } break;
      default: handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  // ---------------------------------------------------------------- start
  try {
    var savedName = window.localStorage.getItem('fahras.indexer');
    if (savedName) { $('indexer').value = savedName; }
  } catch (e) { /* storage may be disabled */ }
  $('indexer').addEventListener('change', function () {
    try { window.localStorage.setItem('fahras.indexer', $('indexer').value.trim()); } catch (e) { /* ignore */ }
  });

  applyLanguage();
  var startDoc = new URLSearchParams(window.location.search).get('doc');
  if (startDoc) {
    $('doc-key').value = startDoc;
    run(function () { return openKey(startDoc); });
  } else {
    // say at once when the server is not ready (models still loading, or down)
    api('GET', '/readyz', {quiet: true, timeout: 5000}).catch(function (error) {
      showStatus('error', error.status ? t('failed') + ' (' + error.status + ')' + t('sep') + '/readyz' : error.message, true);
      lastAction = function () { return api('GET', '/readyz'); };
    });
  }
  window.fahrasPage = {state: state};   // for the browser tests and the curious
})();
