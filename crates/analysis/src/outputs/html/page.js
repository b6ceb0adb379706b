// report.html's space-time diagram: draws a window of the run's events as SVG and, on a click,
// highlights the clicked event's causal past and future, computed here from the vector clocks
// the page embeds (f happened before e iff vc_f <= vc_e entry-wise and f != e).
//
// The URL fragment drives the page too, so a link (or a test) can open it on one event:
// #select=VM:INDEX selects event INDEX of VM VM, by clicking it as a person would; &window=N
// asks for N events at once (at most data.window.max).
'use strict';
(function () {
  const SVG = 'http://www.w3.org/2000/svg';
  const data = JSON.parse(document.getElementById('run-data').textContent);
  const events = data.events;
  const lanes = data.lanes;
  const MAX = data.window.max;
  const laneOf = new Map(lanes.map((lane, n) => [lane.vm, n]));
  const byName = new Map(events.map((e, n) => [name(e), n]));
  // The messages each event sends or receives, by index into data.messages.
  const touching = events.map(() => []);
  data.messages.forEach((m, n) => {
    touching[m[0]].push(n);
    touching[m[1]].push(n);
  });

  const W = 1200, LEFT = 120, RIGHT = 30, TOP = 34, LANE = 64, BOTTOM = 34, R = 5;
  const H = TOP + Math.max(lanes.length, 1) * LANE + BOTTOM;
  const PAST = 1, FUTURE = 2, SELECTED = 3;

  let size = Math.min(data.window.initial, MAX);
  let first = 0;
  let selected = null;
  let role = null; // per event: 0 concurrent, PAST, FUTURE or SELECTED; null when none selected

  const svg = document.getElementById('diagram');
  const slider = document.getElementById('slider');
  document.getElementById('max-window').textContent = MAX.toLocaleString('en');
  document.getElementById('fault-legend').hidden = !(data.faults || []).length;

  function name(e) {
    return e.vm + ':' + e.i;
  }

  function clamp(v, lo, hi) {
    return Math.max(lo, Math.min(hi, v));
  }

  function el(tag, attrs, parent) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function seconds(us) {
    return (us / 1e6).toFixed(3) + ' s';
  }

  function describe(e) {
    let what = e.k;
    if (e.k === 'send') what += ' to VM ' + e.p.join(', VM ') + ' (seq ' + e.seq + ')';
    if (e.k === 'receive') what += ' from VM ' + e.p[0] + ' (seq ' + e.seq + ')';
    return 'VM ' + e.vm + ', event ' + e.i + ': ' + what + '\nat ' + seconds(e.t) +
      '\nLamport clock ' + e.lc + '\nvector clock [' + e.vc.join(' ') + ']';
  }

  function leq(a, b) {
    for (let j = 0; j < a.length; j++) if (a[j] > (b[j] || 0)) return false;
    return true;
  }

  function roleName(n) {
    if (role === null) return '';
    return [' concurrent', ' past', ' future', ' selected'][role[n]];
  }

  // A message's role: inside the past (both ends in it or the selected event), inside the
  // future likewise, else faded.
  function messageRole(m) {
    if (role === null) return '';
    const a = role[m[0]], b = role[m[1]];
    if ((a === PAST || a === SELECTED) && (b === PAST || b === SELECTED)) return ' past';
    if ((a === FUTURE || a === SELECTED) && (b === FUTURE || b === SELECTED)) return ' future';
    return ' concurrent';
  }

  function timeTicks(t0, t1) {
    const span = Math.max(t1 - t0, 1);
    const raw = span / 8;
    const pow = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw);
    const ticks = [];
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
    const digits = clamp(6 - Math.floor(Math.log10(step)), 0, 6);
    return { ticks, label: (t) => (t / 1e6).toFixed(digits) + ' s' };
  }

  function render() {
    const total = events.length;
    size = clamp(size, 1, Math.max(1, Math.min(MAX, total)));
    first = clamp(first, 0, Math.max(0, total - size));
    const last = Math.min(first + size, total);
    svg.replaceChildren();
    svg.setAttribute('viewBox', '0 0 ' + W + ' ' + H);
    svg.classList.toggle('dense', last - first > 500);

    const defs = el('defs', {}, svg);
    // One arrowhead per message role, in the role's colour (page.css colours the lines).
    for (const [id, colour] of [['arrow', '#555'], ['arrow-past', '#e6550d'],
      ['arrow-future', '#756bb1'], ['arrow-concurrent', '#555']]) {
      const marker = el('marker', {
        id, viewBox: '0 0 10 10', refX: '10', refY: '5',
        markerWidth: '6', markerHeight: '6', orient: 'auto-start-reverse',
      }, defs);
      el('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: colour }, marker);
    }
    const clip = el('clipPath', { id: 'plot-area' }, defs);
    el('rect', { x: LEFT - 8, y: 0, width: W - LEFT - RIGHT + 16, height: H }, clip);

    let t0 = Infinity, t1 = -Infinity;
    for (let n = first; n < last; n++) {
      t0 = Math.min(t0, events[n].t);
      t1 = Math.max(t1, events[n].t);
    }
    if (total === 0) t0 = 0;
    if (!(t1 > t0)) t1 = t0 + 1;
    const x = (t) => LEFT + ((t - t0) / (t1 - t0)) * (W - LEFT - RIGHT);
    const y = (vm) => TOP + laneOf.get(vm) * LANE + LANE / 2;

    const axis = el('g', {}, svg);
    const { ticks, label } = timeTicks(t0, t1);
    for (const t of ticks) {
      el('line', { class: 'axis', x1: x(t), x2: x(t), y1: TOP - 6, y2: H - BOTTOM + 4 }, axis);
      el('text', { class: 'axis-label', x: x(t), y: H - 10, 'text-anchor': 'middle' }, axis)
        .textContent = label(t);
    }
    lanes.forEach((lane) => {
      el('line', { class: 'lane', x1: LEFT - 8, x2: W - RIGHT + 8, y1: y(lane.vm), y2: y(lane.vm) }, axis);
      el('text', { class: 'lane-label', x: 8, y: y(lane.vm) + 4 }, axis).textContent = lane.label;
    });

    const plot = el('g', { 'clip-path': 'url(#plot-area)' }, svg);
    drawFaults(el('g', { class: 'faults' }, plot), t0, t1, x, y);
    const messages = el('g', {}, plot);
    const drawn = new Set();
    for (let n = first; n < last; n++) for (const m of touching[n]) drawn.add(m);
    for (const m of [...drawn].sort((a, b) => a - b)) {
      const msg = data.messages[m];
      const s = events[msg[0]], r = events[msg[1]];
      const x1 = x(s.t), y1 = y(s.vm), x2 = x(r.t), y2 = y(r.vm);
      const len = Math.hypot(x2 - x1, y2 - y1) || 1;
      const cut = (R + 1) / len;
      const kind = messageRole(msg);
      el('line', {
        class: 'msg' + kind,
        'data-send': name(s), 'data-receive': name(r),
        x1: x1 + (x2 - x1) * cut, y1: y1 + (y2 - y1) * cut,
        x2: x2 - (x2 - x1) * cut, y2: y2 - (y2 - y1) * cut,
        'marker-end': 'url(#arrow' + kind.replace(' ', '-') + ')',
      }, messages);
    }

    const dots = el('g', {}, plot);
    const labels = last - first <= 150;
    for (let n = first; n < last; n++) {
      const e = events[n];
      const dot = el('circle', {
        class: 'ev ' + e.k + roleName(n), 'data-event': name(e),
        cx: x(e.t), cy: y(e.vm), r: n === selected ? R + 2 : R,
      }, dots);
      el('title', {}, dot).textContent = describe(e);
      if (labels) {
        el('text', { class: 'lc', x: x(e.t), y: y(e.vm) - R - 3, 'text-anchor': 'middle' }, dots)
          .textContent = e.lc;
      }
    }

    slider.max = Math.max(0, total - size);
    slider.value = first;
    document.getElementById('window-status').textContent = total === 0
      ? 'no events'
      : 'events ' + (first + 1).toLocaleString('en') + '\u2013' + last.toLocaleString('en') +
        ' of ' + total.toLocaleString('en') + ', ' + seconds(t0) + ' to ' + seconds(t1);
    svg.dataset.first = first;
    svg.dataset.size = last - first;
  }

  // Each fault whose window meets [t0, t1] as a light band over the lanes of the VMs it
  // touches (one rectangle per lane, so the lanes of a VM it leaves alone stay clear), labelled
  // with its number and kind on its top lane; a window still open at the end reaches the edge.
  function drawFaults(group, t0, t1, x, y) {
    for (const f of data.faults || []) {
      const until = f.until === null ? Infinity : f.until;
      if (until < t0 || f.from > t1) continue;
      const xa = x(Math.max(f.from, t0)), xb = x(Math.min(until, t1));
      const ys = f.vms.filter((vm) => laneOf.has(vm)).map(y).sort((a, b) => a - b);
      const what = 'fault ' + f.n + ': ' + f.k;
      for (const yy of ys) {
        const band = el('rect', {
          class: 'fault-band', 'data-fault': f.n,
          x: xa, y: yy - LANE / 2, width: Math.max(xb - xa, 2), height: LANE,
        }, group);
        el('title', {}, band).textContent = what + ' (VM ' + f.vms.join(', VM ') + ')';
      }
      if (ys.length) {
        el('text', { class: 'fault-label', x: xa + 3, y: ys[0] - LANE / 2 + 11 }, group)
          .textContent = what;
      }
    }
  }

  // Per VM, the runs of consecutive indices among `members`: "1:1-3 2:1-6 3:4".
  function ranges(members) {
    const perVm = new Map();
    for (const n of members) {
      const e = events[n];
      if (!perVm.has(e.vm)) perVm.set(e.vm, []);
      perVm.get(e.vm).push(e.i);
    }
    const parts = [];
    for (const vm of [...perVm.keys()].sort((a, b) => a - b)) {
      const idx = perVm.get(vm).sort((a, b) => a - b);
      let lo = idx[0], hi = idx[0];
      const flush = () => parts.push(vm + ':' + (lo === hi ? lo : lo + '-' + hi));
      for (const i of idx.slice(1)) {
        if (i === hi + 1) { hi = i; } else { flush(); lo = hi = i; }
      }
      flush();
    }
    return parts.join(' ');
  }

  function showSelection() {
    const box = document.getElementById('selection');
    box.replaceChildren();
    if (selected === null) {
      box.appendChild(document.createElement('p')).textContent = 'No event selected: click one.';
      return;
    }
    const groups = { past: [], future: [], concurrent: [] };
    role.forEach((r, n) => {
      if (r === PAST) groups.past.push(n);
      else if (r === FUTURE) groups.future.push(n);
      else if (r !== SELECTED) groups.concurrent.push(n);
    });
    const list = box.appendChild(document.createElement('dl'));
    const item = (term, id, members, text) => {
      list.appendChild(document.createElement('dt')).textContent = term;
      const dd = list.appendChild(document.createElement('dd'));
      dd.id = id;
      if (members) {
        dd.dataset.count = members.length;
        dd.dataset.events = ranges(members);
      }
      dd.textContent = text;
    };
    const e = events[selected];
    item('Selected', 'cone-selected', null, describe(e).replace(/\n/g, '; '));
    const show = (members) => members.length + ' events' +
      (members.length ? ' (VM:event ' + ranges(members) + ')' : '');
    item('Causal past: happened before it', 'cone-past', groups.past, show(groups.past));
    item('Causal future: happened after it', 'cone-future', groups.future, show(groups.future));
    item('Concurrent with it', 'cone-concurrent', groups.concurrent,
      groups.concurrent.length + ' events');
  }

  function select(n) {
    if (n === selected) return clearSelection();
    selected = n;
    role = new Uint8Array(events.length);
    const vc = events[n].vc;
    for (let m = 0; m < events.length; m++) {
      if (m === n) role[m] = SELECTED;
      else if (leq(events[m].vc, vc)) role[m] = PAST;
      else if (leq(vc, events[m].vc)) role[m] = FUTURE;
    }
    render();
    showSelection();
    setFragment('#select=' + name(events[n]));
  }

  function clearSelection() {
    selected = null;
    role = null;
    render();
    showSelection();
    setFragment('');
  }

  function setFragment(hash) {
    try {
      history.replaceState(null, '', hash || location.pathname + location.search);
    } catch (e) {
      // A page opened from some places may not rewrite its URL; the selection still stands.
    }
  }

  function centreOn(n) {
    first = n - Math.floor(size / 2);
    render();
  }

  function move(by) {
    first += by;
    render();
  }

  function zoom(factor) {
    const centre = first + Math.floor(size / 2);
    size = clamp(Math.round(size * factor), 10, MAX);
    centreOn(centre);
  }

  svg.addEventListener('click', (ev) => {
    const dot = ev.target.closest('[data-event]');
    if (dot && byName.has(dot.dataset.event)) select(byName.get(dot.dataset.event));
  });
  slider.addEventListener('input', () => {
    first = Number(slider.value);
    render();
  });
  const on = (id, f) => document.getElementById(id).addEventListener('click', f);
  on('go-first', () => { first = 0; render(); });
  on('go-back', () => move(-Math.max(1, Math.floor(size / 2))));
  on('go-forward', () => move(Math.max(1, Math.floor(size / 2))));
  on('go-last', () => { first = events.length; render(); });
  on('zoom-in', () => zoom(0.5));
  on('zoom-out', () => zoom(2));
  on('go-selected', () => { if (selected !== null) centreOn(selected); });
  on('clear', () => { if (selected !== null) clearSelection(); });
  document.addEventListener('keydown', (ev) => {
    if (ev.target instanceof HTMLInputElement && ev.target.type !== 'range') return;
    const keys = {
      ArrowLeft: () => move(-Math.max(1, Math.floor(size / 2))),
      ArrowRight: () => move(Math.max(1, Math.floor(size / 2))),
      Home: () => { first = 0; render(); },
      End: () => { first = events.length; render(); },
      '+': () => zoom(0.5),
      '=': () => zoom(0.5),
      '-': () => zoom(2),
      Escape: () => { if (selected !== null) clearSelection(); },
    };
    if (keys[ev.key]) {
      ev.preventDefault();
      keys[ev.key]();
    }
  });

  // #select=VM:INDEX[&window=N]: open the page on one event, clicked as a person would.
  function followFragment() {
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.has('window')) {
      const asked = parseInt(params.get('window'), 10);
      if (asked > 0) size = Math.min(asked, MAX);
    }
    const wanted = params.get('select');
    if (wanted === null) return render();
    const n = byName.get(wanted);
    if (n === undefined) {
      render();
      document.getElementById('selection').textContent =
        'This page has no event ' + wanted + ' (VM:INDEX).';
      return;
    }
    if (n !== selected) {
      centreOn(n);
      svg.querySelector('[data-event="' + wanted + '"]')
        .dispatchEvent(new MouseEvent('click', { bubbles: true, cancelable: true, view: window }));
    }
  }
  window.addEventListener('hashchange', followFragment);
  followFragment();
})();
