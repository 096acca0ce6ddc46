/**
 * The status page at `/`: the topology picture (the SVG `tributary graph` draws, passed in) with
 * live counters under each step and sink, and bars for lag and records in flight, refreshed every
 * second from `/status.json`. Plain HTML and a few lines of script; no framework.
 */

const escape = (text: string) => text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** Runs in the browser: fetches the status and writes it into the page and under each graph node. */
function browserScript(intervalMs: number): string {
  return `
const fmt = (n) => n >= 1e6 ? (n / 1e6).toFixed(1) + 'M' : n >= 1e4 ? (n / 1e3).toFixed(1) + 'k' : String(Math.round(n));
const bytes = (n) => n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + ' MiB' : (n / 1024).toFixed(0) + ' KiB';
const svgNs = 'http://www.w3.org/2000/svg';
let previous;
function label(node) {
  let text = node.querySelector('text.live');
  if (!text) {
    const box = node.getBBox();
    text = document.createElementNS(svgNs, 'text');
    text.setAttribute('class', 'live');
    text.setAttribute('x', String(box.x + box.width / 2));
    text.setAttribute('y', String(box.y + box.height + 13));
    text.setAttribute('text-anchor', 'middle');
    text.setAttribute('font-size', '11');
    text.setAttribute('fill', '#1b5e20');
    node.appendChild(text);
  }
  return text;
}
function bar(id, value, max) {
  document.getElementById(id).style.width = Math.min(100, max > 0 ? (100 * value) / max : 0) + '%';
}
async function refresh() {
  let status;
  try {
    status = await (await fetch('status.json', { cache: 'no-store' })).json();
  } catch (error) {
    document.getElementById('ready').textContent = 'unreachable';
    document.getElementById('ready').className = 'bad';
    return;
  }
  const rate = previous ? (1000 * (status.recordsRead - previous.recordsRead)) / Math.max(1, status.time - previous.time) : 0;
  previous = status;
  const r = status.readiness;
  document.getElementById('ready').textContent = r.ready ? 'ready' : r.reason + ': ' + r.detail;
  document.getElementById('ready').className = r.ready ? 'ok' : 'bad';
  document.getElementById('read').textContent = fmt(status.recordsRead);
  document.getElementById('rate').textContent = fmt(rate);
  document.getElementById('lag').textContent = fmt(status.consumerLag);
  document.getElementById('inflight').textContent = fmt(status.inflight.records) + ' / ' + fmt(status.inflight.maxRecords) + ' records, ' + bytes(status.inflight.bytes);
  document.getElementById('paused').textContent = fmt(status.pausedPartitions);
  document.getElementById('dead').textContent = fmt(status.deadLetters);
  bar('inflight-bar', status.inflight.records, status.inflight.maxRecords);
  bar('lag-bar', status.consumerLag, Math.max(status.consumerLag, status.recordsRead, 1));
  for (const node of document.querySelectorAll('g.node[data-id]')) {
    const s = status.steps[node.dataset.id];
    if (!s) continue;
    const parts = node.classList.contains('source')
      ? ['read ' + fmt(s.out)]
      : node.classList.contains('sink')
      ? ['wrote ' + fmt(s.written), s.retries ? 'retries ' + fmt(s.retries) : '', s.buffered ? 'buffer ' + fmt(s.buffered) : '', s.batchP99Ms ? 'batch p99 ' + fmt(s.batchP99Ms) + ' ms' : '', s.requestP99Ms ? 'request p99 ' + fmt(s.requestP99Ms) + ' ms' : '']
      : ['in ' + fmt(s.in), 'out ' + fmt(s.out), s.deadLetters ? 'dead ' + fmt(s.deadLetters) : '', s.duplicates ? 'dup ' + fmt(s.duplicates) : '', s.late ? 'late ' + fmt(s.late) : '', s.alerts ? 'alerts ' + fmt(s.alerts) : ''];
    label(node).textContent = parts.filter(Boolean).join(' · ');
  }
  document.body.dataset.updated = String(status.time);
}
refresh();
setInterval(refresh, ${intervalMs});
`;
}

/**
 * The page for a topology.
 * @param title the topology's name
 * @param svg the topology picture, as `toSvg` draws it
 */
export function statusPageHtml(title: string, svg: string, refreshMs = 1000): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · Tributary</title>
<style>
body { font: 14px Helvetica, Arial, sans-serif; margin: 16px; color: #263238; }
.panel { display: flex; gap: 24px; flex-wrap: wrap; margin-bottom: 12px; }
.panel > div { min-width: 150px; }
.panel b { display: block; font-size: 20px; }
.ok { color: #2e7d32; } .bad { color: #c62828; }
.track { background: #eceff1; height: 8px; width: 150px; border-radius: 4px; }
.fill { background: #1565c0; height: 8px; width: 0; border-radius: 4px; transition: width .3s; }
#graph svg { max-width: 100%; height: auto; }
</style></head>
<body>
<h1>${escape(title)} <small id="ready">loading</small></h1>
<div class="panel">
<div>records read<b id="read">0</b></div>
<div>records/s<b id="rate">0</b></div>
<div>consumer lag<b id="lag">0</b><div class="track"><div class="fill" id="lag-bar"></div></div></div>
<div>in flight<b id="inflight">0</b><div class="track"><div class="fill" id="inflight-bar"></div></div></div>
<div>paused partitions<b id="paused">0</b></div>
<div>dead letters<b id="dead">0</b></div>
</div>
<div id="graph">${svg}</div>
<p><a href="metrics">/metrics</a> · <a href="status.json">/status.json</a> · <a href="readyz">/readyz</a> · <a href="healthz">/healthz</a></p>
<script>${browserScript(refreshMs)}</script>
</body></html>
`;
}
