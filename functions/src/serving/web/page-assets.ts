/**
 * The web page served at GET / (npm start; `app`): drop or pick images, see each verdict. Plain
 * HTML, CSS and JavaScript with no build step and nothing from another origin; the page only
 * calls this service's own /predict (and /explain where a deployment has it).
 */
/** What this deployment keeps of an image after scoring it (FEEDBACK_RECENT_PREDICTIONS, FEEDBACK_RECENT_SECONDS). */
export interface ImageRetention {
  recentPredictions: number;
  recentSeconds: number;
}

/** The page's sentence on what happens to an image: what is true of this deployment. */
export function retentionText(retention: ImageRetention): string {
  if (retention.recentPredictions === 0) return 'Images are scored by this service and not kept.';
  const minutes = retention.recentSeconds % 60 === 0 ? `${retention.recentSeconds / 60} minutes` : `${retention.recentSeconds} seconds`;
  return (
    `Images are scored by this service. It holds the last ${retention.recentPredictions} in memory for up to ${minutes}, ` +
    'so that a correction sent to /feedback can refer to one; an image is written to storage only when feedback about it is sent.'
  );
}

export const indexHtml = (retention: ImageRetention): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AI Product Photo Detector</title>
<link rel="stylesheet" href="web/style.css">
<script src="web/app.js" defer></script>
</head>
<body>
<main>
  <h1>AI Product Photo Detector</h1>
  <p class="lead">Drop product photos to see whether a generative model made them. ${retentionText(retention)}</p>
  <section class="key">
    <label for="api-key">API key <span class="hint">(only if this deployment needs one; kept in this tab only)</span></label>
    <input id="api-key" type="password" autocomplete="off" spellcheck="false">
  </section>
  <section id="drop" class="drop" tabindex="0" role="button" aria-describedby="drop-help">
    <p id="drop-help">Drop JPEG, PNG, WebP or AVIF images here, or</p>
    <label class="pick" for="files">choose images</label>
    <input id="files" type="file" accept="image/jpeg,image/png,image/webp,image/avif" multiple>
  </section>
  <ol id="results" class="results" aria-live="polite"></ol>
</main>
</body>
</html>
`;

export const STYLE_CSS = `:root { color-scheme: light dark; font-family: system-ui, sans-serif; }
body { margin: 0; }
main { max-width: 52rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: 0.5rem 0; }
.lead, .hint { color: GrayText; }
.key { display: flex; flex-direction: column; gap: 0.25rem; margin: 1rem 0; }
.key input { font: inherit; padding: 0.5rem; max-width: 24rem; }
.drop { border: 2px dashed GrayText; border-radius: 0.5rem; padding: 1.5rem; text-align: center; }
.drop.over, .drop:focus { border-color: Highlight; outline: none; }
.drop input { position: absolute; width: 1px; height: 1px; opacity: 0; }
.pick { display: inline-block; padding: 0.5rem 1rem; border: 1px solid; border-radius: 0.25rem; cursor: pointer; }
.drop input:focus + .pick, .pick:hover { outline: 2px solid Highlight; }
.results { list-style: none; padding: 0; display: grid; gap: 0.75rem; }
.result { display: grid; grid-template-columns: 6rem 1fr; gap: 0.75rem; border: 1px solid GrayText; border-radius: 0.5rem; padding: 0.75rem; }
.result img { width: 6rem; height: 6rem; object-fit: cover; border-radius: 0.25rem; }
.result > div:only-child { grid-column: 1 / -1; }
.verdict { font-weight: bold; font-size: 1.1rem; }
.verdict.ai_generated { color: #b3261e; }
.verdict.uncertain { color: #8a5a00; }
.verdict.real { color: #1b6e3a; }
.error { color: #b3261e; }
.note { color: GrayText; }
.explain { font: inherit; margin-top: 0.5rem; padding: 0.25rem 0.75rem; }
.heatmap { max-width: 100%; margin-top: 0.5rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 0.75rem; margin: 0.25rem 0 0; font-size: 0.9rem; }
dt { color: GrayText; }
@media (max-width: 30rem) { .result { grid-template-columns: 1fr; } .result img { width: 100%; height: auto; max-height: 12rem; } }
`;

export const APP_JS = `'use strict';
(function () {
  var KEY = 'detector-api-key';
  var keyInput = document.getElementById('api-key');
  var drop = document.getElementById('drop');
  var files = document.getElementById('files');
  var results = document.getElementById('results');
  try { keyInput.value = sessionStorage.getItem(KEY) || ''; } catch (e) { /* storage off: the field still works */ }
  keyInput.addEventListener('input', function () { try { sessionStorage.setItem(KEY, keyInput.value); } catch (e) { /* ignore */ } });

  function text(tag, className, value) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    node.textContent = value;
    return node;
  }

  function row(list, term, value) {
    list.appendChild(text('dt', '', term));
    list.appendChild(text('dd', '', value));
  }

  function headers() {
    var key = keyInput.value.trim();
    return key ? { 'X-API-Key': key } : {};
  }

  var VERDICTS = { ai_generated: 'AI-generated', real: 'Real photo', uncertain: 'Uncertain' };
  var DECIDERS = { c2pa: 'C2PA Content Credentials', metadata: "the file's own metadata", watermark: "the generator's invisible watermark", pixels: 'the pixels' };

  function show(item, body) {
    var verdict = body.verdict || body.prediction;
    item.info.appendChild(text('p', 'verdict ' + verdict, VERDICTS[verdict] || verdict));
    var list = document.createElement('dl');
    if (body.decided_by) row(list, 'decided by', DECIDERS[body.decided_by] || body.decided_by);
    if (body.generator) row(list, 'generator', body.generator.name + (body.generator.vendor ? ' (' + body.generator.vendor + ')' : '') + ', from ' + body.generator.source);
    row(list, 'P(AI)', String(body.probability));
    row(list, 'confidence', body.confidence);
    row(list, 'model', body.model.name + ' ' + body.model.version);
    row(list, 'image', body.image.width + '×' + body.image.height + ' ' + body.image.format);
    row(list, 'time', body.timing_ms.total + ' ms');
    if (body.evidence) {
      var found = [];
      if (body.evidence.c2pa && body.evidence.c2pa.present) found.push('C2PA manifest (' + body.evidence.c2pa.validation + ')');
      (body.evidence.generators || []).forEach(function (mark) { found.push(mark.generator + ' (' + mark.source + ')'); });
      if (body.evidence.xmp && body.evidence.xmp.digital_source_type) found.push('XMP ' + body.evidence.xmp.digital_source_type);
      if (body.evidence.exif && body.evidence.exif.make) found.push('EXIF ' + body.evidence.exif.make + ' (not trusted)');
      row(list, 'evidence', found.length ? found.join('; ') : 'none in the file');
    }
    if (body.verdict_reasons) row(list, 'why', body.verdict_reasons.join('; '));
    item.info.appendChild(list);
    var button = text('button', 'explain', 'Show where');
    button.type = 'button';
    button.addEventListener('click', function () { explain(item, button); });
    item.info.appendChild(button);
  }

  // The heatmap comes from /explain where a deployment has it; elsewhere the page says so.
  function explain(item, button) {
    button.disabled = true;
    var form = new FormData();
    form.append('image', item.file, item.file.name);
    fetch('/explain', { method: 'POST', body: form, headers: headers() })
      .then(function (response) {
        if (response.status === 404 || response.status === 405) throw new Error('unavailable');
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (answer) {
        if (!answer.ok) { fail(item, answer.body && answer.body.error ? answer.body.error.message : 'the heatmap could not be made'); return; }
        if (answer.body.heatmap_png) {
          var overlay = document.createElement('img');
          overlay.className = 'heatmap';
          overlay.alt = 'where the image looks generated';
          overlay.src = 'data:image/png;base64,' + answer.body.heatmap_png;
          item.info.appendChild(overlay);
        }
      })
      .catch(function () { item.info.appendChild(text('p', 'note', 'Heatmaps are not available on this deployment yet.')); });
  }

  function fail(item, message) {
    item.info.appendChild(text('p', 'error', message));
  }

  function score(file) {
    var li = document.createElement('li');
    li.className = 'result';
    var img = document.createElement('img');
    img.alt = '';
    img.addEventListener('error', function () { img.remove(); });
    if (/^image\\//.test(file.type)) img.src = URL.createObjectURL(file);
    var info = document.createElement('div');
    info.appendChild(text('p', 'name', file.name));
    var status = text('p', 'status', 'Scoring…');
    info.appendChild(status);
    li.appendChild(img);
    li.appendChild(info);
    results.insertBefore(li, results.firstChild);
    var item = { info: info, file: file };
    var form = new FormData();
    form.append('image', file, file.name);
    fetch('/predict', { method: 'POST', body: form, headers: headers() })
      .then(function (response) {
        return response.json().then(
          function (body) { return { ok: response.ok, status: response.status, body: body }; },
          function () { return { ok: false, status: response.status, body: null }; }
        );
      })
      .then(function (answer) {
        status.remove();
        if (answer.ok) show(item, answer.body);
        else if (answer.body && answer.body.error) fail(item, answer.body.error.message + ' (' + answer.body.error.code + ')');
        else fail(item, 'the service answered ' + answer.status);
      })
      .catch(function () {
        status.remove();
        fail(item, 'the service could not be reached');
      });
  }

  function take(list) {
    for (var i = 0; i < list.length; i += 1) score(list[i]);
  }

  files.addEventListener('change', function () { take(files.files); files.value = ''; });
  drop.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' || event.key === ' ') { event.preventDefault(); files.click(); }
  });
  drop.addEventListener('dragover', function (event) { event.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', function () { drop.classList.remove('over'); });
  drop.addEventListener('drop', function (event) {
    event.preventDefault();
    drop.classList.remove('over');
    take(event.dataTransfer.files);
  });
  // Every control is wired: tests (and anything else automating the page) may start.
  document.documentElement.setAttribute('data-ready', '');
})();
`;
