// Recommendation insights: reads the worker's analytics API with an API key and draws the
// results as inline SVG charts, each with a table as its text alternative.
//
// The key lives in sessionStorage only, so closing the tab deletes it. Every request goes to
// the page's own origin (the worker that serves this page).
'use strict';

(() => {
  const KEY_STORAGE = 'loci-insights-key';
  const RANGE_STORAGE = 'loci-insights-range';
  const RANGES = [7, 28, 90];
  const TOP_LIMIT = 10;
  const TREND_WINDOW_DAYS = 7;
  const TREND_LIMIT = 6;
  const SVG_NS = 'http://www.w3.org/2000/svg';
  const DAY_MS = 86_400_000;

  const numberFormat = new Intl.NumberFormat('en');
  const percentFormat = new Intl.NumberFormat('en', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });

  const $ = (selector) => document.querySelector(selector);
  const elements = {
    message: $('#message'),
    keySection: $('#key-section'),
    keyForm: $('#key-form'),
    keyInput: $('#api-key'),
    keyError: $('#key-error'),
    dashboard: $('#dashboard'),
    controls: $('#session-controls'),
    refresh: $('#refresh-button'),
    signOut: $('#sign-out-button'),
    rangeNote: $('#range-note'),
    totals: $('#totals'),
  };

  /** Chart redraw functions by container, called again when the container's width changes. */
  const redraws = new Map();
  const resizeObserver = new ResizeObserver((entries) => {
    for (const entry of entries) {
      redraws.get(entry.target)?.();
    }
  });

  // -------------------------------------------------------------------------------------------
  // Small DOM helpers

  /** Creates an HTML element with attributes and children (strings become text nodes). */
  function h(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    setAttributes(node, attributes);
    node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
    return node;
  }

  /** Creates an SVG element with attributes and children. */
  function s(tag, attributes = {}, ...children) {
    const node = document.createElementNS(SVG_NS, tag);
    setAttributes(node, attributes);
    node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
    return node;
  }

  function setAttributes(node, attributes) {
    for (const [name, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) {
        continue;
      }
      if (name === 'class') {
        node.setAttribute('class', value);
      } else if (name.startsWith('on') && typeof value === 'function') {
        node.addEventListener(name.slice(2), value);
      } else {
        node.setAttribute(name, value === true ? '' : String(value));
      }
    }
  }

  const formatNumber = (value) => numberFormat.format(Number(value) || 0);
  const formatPercent = (value) => percentFormat.format(Number(value) || 0);

  /** Formats milliseconds as "42 s" or "3 min 05 s". */
  function formatDuration(ms) {
    const seconds = Math.round((Number(ms) || 0) / 1000);
    if (seconds < 60) {
      return `${seconds} s`;
    }
    return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, '0')} s`;
  }

  /** Formats a trend's growth, the ratio of recent to previous clicks, as "2.5×". */
  function formatGrowth(growth) {
    const value = Number(growth);
    if (!Number.isFinite(value)) {
      return 'new';
    }
    return `${value >= 10 ? Math.round(value) : value.toFixed(1)}×`;
  }

  /** Returns the first and last day of the `days` days ending today, as UTC `YYYY-MM-DD`. */
  function dateRange(days) {
    const today = new Date();
    const end = Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate());
    const iso = (time) => new Date(time).toISOString().slice(0, 10);
    return { from: iso(end - (days - 1) * DAY_MS), to: iso(end) };
  }

  /** Formats `YYYY-MM-DD` as "12 Nov". */
  function shortDate(isoDay) {
    return new Date(`${isoDay}T00:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', timeZone: 'UTC' });
  }

  // -------------------------------------------------------------------------------------------
  // API access

  /** An error response from the API, read from its JSON problem when it has one. */
  class ApiProblem extends Error {
    constructor(status, problem, path) {
      const detail = problem?.detail ?? problem?.title ?? `HTTP ${status}`;
      super(detail);
      this.status = status;
      this.code = problem?.code ?? `http_${status}`;
      this.title = problem?.title;
      this.detail = detail;
      this.path = path;
    }
  }

  function storedKey() {
    return sessionStorage.getItem(KEY_STORAGE) ?? '';
  }

  /** Sends a request with the stored key; resolves to the response. Throws ApiProblem on errors. */
  async function apiFetch(path, { method = 'GET' } = {}) {
    let response;
    try {
      response = await fetch(path, { method, headers: { authorization: `Bearer ${storedKey()}` }, cache: 'no-store' });
    } catch (error) {
      throw new ApiProblem(0, { code: 'network_error', detail: `The API could not be reached (${error.message}). Check the connection and try again.` }, path);
    }
    if (!response.ok) {
      let problem;
      try {
        problem = await response.json();
      } catch {
        problem = undefined;
      }
      throw new ApiProblem(response.status, problem, path);
    }
    return response;
  }

  async function apiJson(path, options) {
    const response = await apiFetch(path, options);
    return response.json();
  }

  /** Downloads an export that needs the key, by fetching it and saving the body as a file. */
  async function download(path, filename, button) {
    button.disabled = true;
    try {
      const response = await apiFetch(path);
      const blob = await response.blob();
      const url = URL.createObjectURL(blob);
      const link = h('a', { href: url, download: filename });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      handleError(error);
    } finally {
      button.disabled = false;
    }
  }

  function downloadButton(label, path, filename) {
    const button = h('button', { type: 'button', class: 'button-link', 'data-download': path }, label);
    button.addEventListener('click', () => download(path, filename, button));
    return button;
  }

  // -------------------------------------------------------------------------------------------
  // Messages, sign-in and sign-out

  /** Describes a problem as "detail (code, HTTP status)". */
  function problemNodes(error) {
    if (!(error instanceof ApiProblem)) {
      return [h('p', {}, `Something went wrong: ${error.message}`)];
    }
    const heading = error.title ? h('strong', {}, `${error.title}: `) : null;
    const code = error.status ? ` (${error.code}, HTTP ${error.status})` : ` (${error.code})`;
    return [h('p', {}, heading, error.detail, h('span', { class: 'problem-code' }, code))];
  }

  /** Shows a message box above the page; `kind` is "error" or "info". */
  function showMessage(kind, ...nodes) {
    elements.message.replaceChildren(...nodes);
    elements.message.classList.toggle('is-error', kind === 'error');
    elements.message.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    elements.message.hidden = false;
  }

  function clearMessage() {
    elements.message.hidden = true;
    elements.message.replaceChildren();
  }

  /** Handles an error that is not tied to one panel: a 401 signs out, anything else is shown. */
  function handleError(error) {
    if (error instanceof ApiProblem && error.status === 401) {
      signOut(`The API key was not accepted (${error.detail.replace(/[.\s]+$/, '')}). Enter a valid read-only or admin key.`);
      return;
    }
    showMessage('error', ...problemNodes(error));
  }

  function showKeyForm(errorText) {
    elements.dashboard.hidden = true;
    elements.controls.hidden = true;
    elements.keySection.hidden = false;
    elements.keyError.hidden = !errorText;
    elements.keyError.textContent = errorText ?? '';
    elements.keyInput.setAttribute('aria-invalid', errorText ? 'true' : 'false');
    elements.keyInput.value = '';
    elements.keyInput.focus();
  }

  /** Stops redrawing the charts drawn so far, before they are replaced or hidden. */
  function forgetCharts() {
    for (const container of redraws.keys()) {
      resizeObserver.unobserve(container);
    }
    redraws.clear();
  }

  function signOut(errorText) {
    sessionStorage.removeItem(KEY_STORAGE);
    forgetCharts();
    clearMessage();
    showKeyForm(errorText);
  }

  function showDashboard() {
    elements.keySection.hidden = true;
    elements.keyError.hidden = true;
    elements.controls.hidden = false;
    elements.dashboard.hidden = false;
  }

  function selectedRange() {
    const checked = document.querySelector('input[name="range"]:checked');
    const days = Number(checked?.value);
    return RANGES.includes(days) ? days : 28;
  }

  // -------------------------------------------------------------------------------------------
  // Charts

  /** Registers `draw(width)` for a container and draws it now and whenever its width changes. */
  function drawResponsive(container, draw) {
    let lastWidth = -1;
    const redraw = () => {
      const width = Math.max(260, Math.floor(container.clientWidth));
      if (width === lastWidth) {
        return;
      }
      lastWidth = width;
      container.replaceChildren(draw(width));
    };
    redraws.set(container, redraw);
    resizeObserver.observe(container);
    redraw();
  }

  /** Returns a round upper bound and tick step for an axis from 0 to `max`. */
  function niceScale(max, ticks = 4) {
    if (!(max > 0)) {
      return { top: 1, step: 0.25 };
    }
    const rough = max / ticks;
    const magnitude = 10 ** Math.floor(Math.log10(rough));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((candidate) => candidate >= rough);
    return { top: Math.ceil(max / step) * step, step };
  }

  /** Builds an SVG line chart of CTR per day, with a shaded area and one point per day. */
  function ctrLineChart(rows, width) {
    const height = width < 520 ? 220 : 260;
    const margin = { top: 12, right: 14, bottom: 30, left: 48 };
    const plotWidth = width - margin.left - margin.right;
    const plotHeight = height - margin.top - margin.bottom;
    const { top, step } = niceScale(Math.max(...rows.map((row) => Number(row.ctr) || 0)));
    const x = (index) => margin.left + (rows.length === 1 ? plotWidth / 2 : (index / (rows.length - 1)) * plotWidth);
    const y = (value) => margin.top + plotHeight - (value / top) * plotHeight;

    const grid = [];
    for (let value = 0; value <= top + step / 2; value += step) {
      grid.push(
        s('line', { class: 'grid-line', x1: margin.left, x2: width - margin.right, y1: y(value), y2: y(value) }),
        s('text', { class: 'axis-label', x: margin.left - 6, y: y(value) + 4, 'text-anchor': 'end' }, formatPercent(value)),
      );
    }

    const labelEvery = Math.max(1, Math.ceil(rows.length / Math.max(2, Math.floor(plotWidth / 70))));
    // Counted back from the last day, so that the latest date always has a label.
    const xLabels = rows
      .map((row, index) => ({ row, index }))
      .filter(({ index }) => (rows.length - 1 - index) % labelEvery === 0)
      .map(({ row, index }) =>
        s('text', { class: 'axis-label', x: x(index), y: height - 8, 'text-anchor': 'middle' }, shortDate(row.key)),
      );

    const points = rows.map((row, index) => [x(index), y(Number(row.ctr) || 0)]);
    const line = points.map(([px, py], index) => `${index === 0 ? 'M' : 'L'}${px.toFixed(1)},${py.toFixed(1)}`).join(' ');
    const area = `${line} L${points.at(-1)[0].toFixed(1)},${y(0).toFixed(1)} L${points[0][0].toFixed(1)},${y(0).toFixed(1)} Z`;
    const dots = rows.map((row, index) =>
      s(
        'circle',
        { class: 'ctr-point', cx: points[index][0], cy: points[index][1], r: rows.length > 45 ? 2 : 3.5 },
        s('title', {}, `${row.key}: ${formatPercent(row.ctr)} CTR, ${formatNumber(row.clicks)} clicks of ${formatNumber(row.impressions)} impressions`),
      ),
    );

    const first = rows[0];
    const last = rows.at(-1);
    return s(
      'svg',
      {
        viewBox: `0 0 ${width} ${height}`,
        width,
        height,
        role: 'img',
        'aria-label': `Line chart of click-through rate per day from ${first.key} to ${last.key}; the table below lists the values.`,
        'data-chart': 'ctr-line',
      },
      grid,
      s('path', { class: 'ctr-area', d: area }),
      s('path', { class: 'ctr-line', d: line, 'data-points': rows.length }),
      dots,
      xLabels,
    );
  }

  /**
   * Builds an SVG chart of horizontal bars from `items` (`{ key, label, value, text, muted }`).
   * An item with `bars: [{ value, muted, name }]` gets one bar per entry, one below the other.
   */
  function barChart(items, width, { ariaLabel, chartName }) {
    const narrow = width < 520;
    const labelWidth = narrow ? 0 : Math.min(220, Math.round(width * 0.34));
    const valueWidth = narrow ? 0 : 150;
    const barHeight = 16;
    const barGap = 3;
    const rowGap = narrow ? 12 : 10;
    const labelHeight = narrow ? 18 : 0;
    const plotLeft = labelWidth + (narrow ? 0 : 10);
    const plotWidth = Math.max(40, width - plotLeft - valueWidth - (narrow ? 0 : 10));
    const max = Math.max(1, ...items.flatMap((item) => (item.bars ?? [item]).map((bar) => Number(bar.value) || 0)));

    let offset = 0;
    const rows = items.map((item) => {
      const bars = item.bars ?? [{ value: item.value, muted: item.muted }];
      const rowTop = offset;
      const barsTop = rowTop + labelHeight;
      const rowHeight = labelHeight + bars.length * barHeight + (bars.length - 1) * barGap + (narrow ? 16 : 0);
      offset += rowHeight + rowGap;
      // About 7 px per character at 13 px: the full label is in the bar's title and the table.
      const label = truncate(item.label, Math.floor((narrow ? width : labelWidth) / 7.2));
      const shapes = bars.map((bar, index) => {
        const barWidth = Math.max(2, (Math.max(0, Number(bar.value) || 0) / max) * plotWidth);
        return s(
          'rect',
          {
            class: bar.muted ? 'bar bar-muted' : 'bar',
            x: plotLeft,
            y: barsTop + index * (barHeight + barGap),
            width: barWidth.toFixed(1),
            height: barHeight,
            rx: 2,
            'data-value': bar.value,
          },
          s('title', {}, `${item.label}: ${bar.name ? `${bar.name} ` : ''}${formatNumber(bar.value)}`),
        );
      });
      const textY = narrow ? barsTop + bars.length * (barHeight + barGap) + 11 : barsTop + 12;
      return s(
        'g',
        { class: 'bar-row', 'data-key': item.key ?? item.label },
        s(
          'text',
          narrow
            ? { class: 'bar-label', x: 0, y: rowTop + 13 }
            : { class: 'bar-label', x: labelWidth, y: barsTop + 12, 'text-anchor': 'end' },
          label,
        ),
        shapes,
        s('text', narrow ? { class: 'bar-value', x: plotLeft, y: textY } : { class: 'bar-value', x: width - valueWidth + 4, y: textY }, item.text),
      );
    });
    const height = Math.max(20, offset - rowGap);
    return s(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': ariaLabel, 'data-chart': chartName },
      rows,
    );
  }

  /** Builds an SVG chart of CTR per variant with 95 % interval whiskers on a shared axis. */
  function intervalChart(variants, width, ariaLabel) {
    const narrow = width < 520;
    const labelWidth = narrow ? 90 : 160;
    const rowHeight = 34;
    const margin = { top: 6, right: 16, bottom: 26 };
    const plotLeft = labelWidth + 12;
    const plotWidth = width - plotLeft - margin.right;
    // A dot plot needs no zero baseline: the axis spans the intervals, so that they are wide
    // enough to compare.
    const highs = variants.map((variant) => Number(variant.ci_high) || Number(variant.ctr) || 0);
    const lows = variants.map((variant) => Number(variant.ci_low) || 0);
    const { step } = niceScale(Math.max(0.005, Math.max(...highs) - Math.min(...lows)));
    const bottom = Math.floor(Math.min(...lows) / step) * step;
    const top = Math.max(bottom + step, Math.ceil(Math.max(...highs) / step) * step);
    const x = (value) => plotLeft + ((Math.min(Math.max(value, bottom), top) - bottom) / (top - bottom)) * plotWidth;
    const height = margin.top + variants.length * rowHeight + margin.bottom;

    const grid = [];
    for (let value = bottom; value <= top + step / 2; value += step) {
      grid.push(
        s('line', { class: 'grid-line', x1: x(value), x2: x(value), y1: margin.top, y2: height - margin.bottom }),
        s('text', { class: 'axis-label', x: x(value), y: height - 8, 'text-anchor': 'middle' }, formatPercent(value)),
      );
    }
    const rows = variants.map((variant, index) => {
      const centre = margin.top + index * rowHeight + rowHeight / 2;
      const low = Number(variant.ci_low) || 0;
      const high = Number(variant.ci_high) || 0;
      return s(
        'g',
        { class: 'variant-row', 'data-variant': variant.name },
        s('text', { class: 'bar-label', x: labelWidth, y: centre + 4, 'text-anchor': 'end' }, truncate(variant.name, narrow ? 12 : 22)),
        s('line', { class: 'whisker', x1: x(low), x2: x(high), y1: centre, y2: centre }),
        s('line', { class: 'whisker', x1: x(low), x2: x(low), y1: centre - 7, y2: centre + 7 }),
        s('line', { class: 'whisker', x1: x(high), x2: x(high), y1: centre - 7, y2: centre + 7 }),
        s(
          'circle',
          { class: 'estimate', cx: x(Number(variant.ctr) || 0), cy: centre, r: 6 },
          s('title', {}, `${variant.name}: ${formatPercent(variant.ctr)} CTR, 95 % interval ${formatPercent(low)} to ${formatPercent(high)}`),
        ),
      );
    });
    return s(
      'svg',
      { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', 'aria-label': ariaLabel, 'data-chart': 'experiment' },
      grid,
      rows,
    );
  }

  function truncate(text, length) {
    const value = String(text ?? '');
    return value.length > length ? `${value.slice(0, Math.max(1, length - 1))}…` : value;
  }

  /** Builds a collapsed table with the chart's numbers. `columns` are `{ label, number }`. */
  function dataTable(caption, columns, rows, { open = false, name } = {}) {
    const table = h(
      'table',
      { 'data-table': name },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, columns.map((column) => h('th', { scope: 'col', class: column.number ? 'number' : undefined }, column.label)))),
      h(
        'tbody',
        {},
        rows.map((cells) =>
          h(
            'tr',
            {},
            cells.map((cell, index) =>
              index === 0
                ? h('th', { scope: 'row' }, cell)
                : h('td', { class: columns[index].number ? 'number' : undefined }, cell),
            ),
          ),
        ),
      ),
    );
    return h('details', { class: 'data-table', open }, h('summary', {}, 'Show the numbers as a table'), h('div', { class: 'table-scroll' }, table));
  }

  function chartContainer(name) {
    return h('div', { class: 'chart', 'data-chart-container': name });
  }

  // -------------------------------------------------------------------------------------------
  // Panels

  function panelBody(name) {
    return document.querySelector(`[data-panel="${name}"] .panel-body`);
  }

  /** Replaces a panel's content with an error box; 401 is handled by the caller. */
  function showPanelError(name, error) {
    const body = panelBody(name);
    const box = h('div', { class: 'panel-error', role: 'alert' }, problemNodes(error));
    if (error instanceof ApiProblem && error.status === 404 && error.code === 'route_not_found') {
      box.append(h('p', {}, 'This worker does not offer this report yet.'));
    }
    body.replaceChildren(box);
  }

  function renderTotals(totals) {
    const items = [
      ['Impressions', formatNumber(totals.impressions)],
      ['Clicks', formatNumber(totals.clicks)],
      ['Click-through rate', formatPercent(totals.ctr)],
      ['Dwell reports', formatNumber(totals.dwell_events)],
      ['Average dwell', formatDuration(totals.avg_dwell_ms)],
    ];
    elements.totals.replaceChildren(
      ...items.map(([label, value]) => h('div', {}, h('dt', {}, label), h('dd', { 'data-total': label }, value))),
    );
  }

  function renderCtr(report) {
    const body = panelBody('ctr');
    const rows = report.rows ?? [];
    if (rows.length === 0 || rows.every((row) => !row.impressions)) {
      body.replaceChildren(h('p', { class: 'empty' }, 'No impressions in this range yet.'));
      return;
    }
    const container = chartContainer('ctr');
    body.replaceChildren(
      container,
      dataTable(
        `Engagement per day, ${report.from} to ${report.to}`,
        [{ label: 'Day' }, { label: 'Impressions', number: true }, { label: 'Clicks', number: true }, { label: 'CTR', number: true }, { label: 'Average dwell', number: true }],
        rows.map((row) => [row.key, formatNumber(row.impressions), formatNumber(row.clicks), formatPercent(row.ctr), formatDuration(row.avg_dwell_ms)]),
        { name: 'day' },
      ),
    );
    drawResponsive(container, (width) => ctrLineChart(rows, width));
  }

  /** Draws top galleries or keywords as bars of clicks, with CTR beside each bar. */
  function renderTop(panel, report, noun) {
    const body = panelBody(panel);
    const rows = report.rows ?? [];
    if (rows.length === 0) {
      body.replaceChildren(h('p', { class: 'empty' }, `No clicks on ${noun} in this range yet.`));
      return;
    }
    const container = chartContainer(panel);
    const items = rows.map((row) => ({
      key: row.key,
      label: row.label || row.key,
      value: row.clicks,
      text: `${formatNumber(row.clicks)} clicks · ${formatPercent(row.ctr)} CTR`,
    }));
    body.replaceChildren(
      container,
      dataTable(
        `Top ${noun} by clicks, ${report.from} to ${report.to}`,
        [{ label: noun === 'galleries' ? 'Gallery' : 'Keyword' }, { label: 'Impressions', number: true }, { label: 'Clicks', number: true }, { label: 'CTR', number: true }],
        rows.map((row) => [row.label || row.key, formatNumber(row.impressions), formatNumber(row.clicks), formatPercent(row.ctr)]),
        { name: panel },
      ),
    );
    drawResponsive(container, (width) =>
      barChart(items, width, { ariaLabel: `Bar chart of the top ${noun} by clicks; the table below lists the values.`, chartName: panel }),
    );
  }

  function renderSegments(report) {
    const body = panelBody('segments');
    const segments = report.segments ?? [];
    if (segments.length === 0) {
      body.replaceChildren(h('p', { class: 'empty' }, 'No segments are defined.'));
      return;
    }
    const container = chartContainer('segments');
    const note = report.refreshed_at
      ? h('p', { class: 'range-note' }, `Visitors with a consented visitor id, as of the last aggregation (${report.refreshed_at}).`)
      : h('p', { class: 'range-note' }, 'Visitors with a consented visitor id. The aggregates have not been computed yet.');

    const cards = h(
      'div',
      { class: 'segment-cards' },
      segments.map((segment) => {
        const keywords = segment.top_keywords ?? [];
        const galleries = segment.promote_galleries ?? [];
        return h(
          'article',
          { class: 'segment-card', 'data-segment': segment.id },
          h('h3', {}, segment.id),
          h('p', {}, `${segment.description ?? ''} · ${formatNumber(segment.size)} visitors`),
          h('h4', {}, 'Top keywords'),
          keywords.length
            ? h('ul', { class: 'chips' }, keywords.map((keyword) => h('li', {}, `${keyword.keyword} (${formatNumber(keyword.clicks)})`)))
            : h('p', { class: 'empty' }, 'None yet.'),
          h('h4', {}, 'Galleries to promote'),
          galleries.length
            ? h('ol', { class: 'plain-list' }, galleries.map((gallery) => h('li', {}, gallery.link ? h('a', { href: gallery.link }, gallery.name) : gallery.name)))
            : h('p', { class: 'empty' }, 'None yet.'),
          segment.size > 0
            ? downloadButton('Download members (CSV)', `/v1/analytics/segments/${encodeURIComponent(segment.id)}/members?format=csv`, `segment-${segment.id}.csv`)
            : null,
        );
      }),
    );
    body.replaceChildren(
      note,
      container,
      dataTable(
        'Segment sizes',
        [{ label: 'Segment' }, { label: 'Visitors', number: true }, { label: 'Top keywords' }, { label: 'Galleries to promote' }],
        segments.map((segment) => [
          segment.id,
          formatNumber(segment.size),
          (segment.top_keywords ?? []).map((keyword) => keyword.keyword).join(', ') || '–',
          (segment.promote_galleries ?? []).map((gallery) => gallery.name).join(', ') || '–',
        ]),
        { name: 'segments' },
      ),
      cards,
    );
    drawResponsive(container, (width) =>
      barChart(
        segments.map((segment) => ({ key: segment.id, label: segment.id, value: segment.size, text: `${formatNumber(segment.size)} visitors` })),
        width,
        { ariaLabel: 'Bar chart of segment sizes in visitors; the table below lists the values.', chartName: 'segments' },
      ),
    );
  }

  function renderTrends(report) {
    const body = panelBody('trends');
    const themes = report.themes ?? [];
    const windowDays = report.window_days ?? TREND_WINDOW_DAYS;
    const intro = h('p', { class: 'range-note' }, `Clicks in the last ${windowDays} days against the ${windowDays} days before. Growth is the ratio of recent to earlier clicks, as the worker computes it.`);
    if (themes.length === 0) {
      body.replaceChildren(intro, h('p', { class: 'empty' }, 'No theme is rising at the moment.'));
      return;
    }
    const container = chartContainer('trends');
    const legend = h(
      'ul',
      { class: 'legend', 'aria-hidden': 'true' },
      h('li', {}, h('span', { class: 'legend-swatch', style: 'background: var(--muted-bar)' }), `Previous ${windowDays} days`),
      h('li', {}, h('span', { class: 'legend-swatch', style: 'background: var(--accent)' }), `Last ${windowDays} days`),
    );
    const cards = h(
      'ul',
      { class: 'themes' },
      themes.map((theme) =>
        h(
          'li',
          { class: 'theme', 'data-theme': theme.key },
          h('h3', {}, theme.label || theme.key),
          h('p', { class: 'growth' }, h('strong', {}, formatGrowth(theme.growth)), ` · ${formatNumber(theme.recent_clicks)} clicks, ${formatNumber(theme.previous_clicks)} before`),
          (theme.assets ?? []).length
            ? h(
                'ul',
                { class: 'thumbs', 'aria-label': `Approved assets for ${theme.label || theme.key}` },
                theme.assets.map((asset) =>
                  h('li', {}, h('a', { href: asset.link, title: asset.title }, h('img', { src: asset.image_url, alt: asset.title, loading: 'lazy', width: 120, height: 120 }))),
                ),
              )
            : null,
        ),
      ),
    );
    body.replaceChildren(
      intro,
      legend,
      container,
      dataTable(
        `Trending ${report.by === 'gallery' ? 'galleries' : 'keywords'}`,
        [{ label: 'Theme' }, { label: `Previous ${windowDays} days`, number: true }, { label: `Last ${windowDays} days`, number: true }, { label: 'Growth', number: true }],
        themes.map((theme) => [theme.label || theme.key, formatNumber(theme.previous_clicks), formatNumber(theme.recent_clicks), formatGrowth(theme.growth)]),
        { name: 'trends' },
      ),
      cards,
    );
    drawResponsive(container, (width) =>
      barChart(
        themes.map((theme) => ({
          key: theme.key,
          label: theme.label || theme.key,
          bars: [
            { value: theme.previous_clicks, muted: true, name: `previous ${windowDays} days` },
            { value: theme.recent_clicks, name: `last ${windowDays} days` },
          ],
          text: `${formatGrowth(theme.growth)} (${formatNumber(theme.previous_clicks)} → ${formatNumber(theme.recent_clicks)})`,
        })),
        width,
        { ariaLabel: 'Bar chart of clicks per rising theme, previous and recent window; the table below lists the values.', chartName: 'trends' },
      ),
    );
  }

  /** Describes a variant's `diff_vs_control` as "+1.1 pt (+0.2 to +2.0), significant at 95 %". */
  function describeDifference(variant) {
    const diff = variant.diff_vs_control;
    if (variant.is_control) {
      return 'control';
    }
    if (!diff) {
      return '–';
    }
    const points = (value) => `${value >= 0 ? '+' : '−'}${Math.abs(value * 100).toFixed(1)}`;
    const verdict = diff.significant ? 'significant at 95 %' : 'not significant';
    return `${points(diff.ctr)} pt (${points(diff.ci_low)} to ${points(diff.ci_high)}), ${verdict}`;
  }

  function renderExperiments(report) {
    const body = panelBody('experiments');
    const experiments = report.experiments ?? [];
    if (experiments.length === 0) {
      body.replaceChildren(h('p', { class: 'empty' }, 'No experiments are configured on this worker.'));
      return;
    }
    body.replaceChildren(
      ...experiments.map((experiment) => {
        const container = chartContainer(`experiment-${experiment.id}`);
        const variants = experiment.variants ?? [];
        const section = h(
          'div',
          { class: 'experiment', 'data-experiment': experiment.id },
          h('h3', {}, experiment.id),
          h('p', { class: 'experiment-meta' }, `Placement ${experiment.placement} · unit: ${experiment.unit} · dots are CTR, whiskers the 95 % interval`),
          container,
          dataTable(
            `Variants of ${experiment.id}`,
            [
              { label: 'Variant' },
              { label: 'Impressions', number: true },
              { label: 'Clicks', number: true },
              { label: 'CTR', number: true },
              { label: '95 % interval', number: true },
              { label: 'Difference from control' },
            ],
            variants.map((variant) => [
              variant.name,
              formatNumber(variant.impressions),
              formatNumber(variant.clicks),
              formatPercent(variant.ctr),
              `${formatPercent(variant.ci_low)} – ${formatPercent(variant.ci_high)}`,
              describeDifference(variant),
            ]),
            { name: `experiment-${experiment.id}` },
          ),
        );
        queueMicrotask(() =>
          drawResponsive(container, (width) =>
            intervalChart(variants, width, `Chart of click-through rate per variant of ${experiment.id} with 95 % intervals; the table below lists the values.`),
          ),
        );
        return section;
      }),
    );
  }

  function renderDownloads(range) {
    const query = (group, format, extra = '') => `/v1/analytics/engagement?from=${range.from}&to=${range.to}&group=${group}&format=${format}${extra}`;
    const links = {
      day: [['CSV', 'csv'], ['NDJSON', 'ndjson']],
      gallery: [['CSV', 'csv']],
      keyword: [['CSV', 'csv']],
    };
    for (const [group, formats] of Object.entries(links)) {
      const extra = group === 'day' ? '' : '&sort=clicks&limit=1000';
      document.querySelector(`[data-downloads="${group}"]`).replaceChildren(
        'Download:',
        ...formats.map(([label, format]) => downloadButton(label, query(group, format, extra), `engagement-${group}-${range.from}-${range.to}.${format}`)),
      );
    }
  }

  // -------------------------------------------------------------------------------------------
  // Loading

  let loadGeneration = 0;

  /** Fetches every report for the selected range and draws the panels. */
  async function loadDashboard() {
    const generation = (loadGeneration += 1);
    const days = selectedRange();
    const range = dateRange(days);
    elements.dashboard.setAttribute('aria-busy', 'true');
    elements.rangeNote.textContent = `Showing ${range.from} to ${range.to} (last ${days} days, UTC).`;
    renderDownloads(range);

    const engagement = (group, extra = '') => `/v1/analytics/engagement?from=${range.from}&to=${range.to}&group=${group}${extra}`;
    const requests = {
      ctr: apiJson(engagement('day')),
      galleries: apiJson(engagement('gallery', `&sort=clicks&limit=${TOP_LIMIT}`)),
      keywords: apiJson(engagement('keyword', `&sort=clicks&limit=${TOP_LIMIT}`)),
      segments: apiJson('/v1/analytics/segments'),
      trends: apiJson(`/v1/analytics/trends?window=${TREND_WINDOW_DAYS}&by=keyword&limit=${TREND_LIMIT}`),
      experiments: apiJson(`/v1/analytics/experiments?from=${range.from}&to=${range.to}`),
    };
    const names = Object.keys(requests);
    const results = await Promise.allSettled(Object.values(requests));
    if (generation !== loadGeneration) {
      return;
    }
    elements.dashboard.setAttribute('aria-busy', 'false');

    const unauthorized = results.find((result) => result.status === 'rejected' && result.reason?.status === 401);
    if (unauthorized) {
      handleError(unauthorized.reason);
      return;
    }

    forgetCharts();
    const renderers = {
      ctr: (report) => {
        renderTotals(report.totals ?? {});
        renderCtr(report);
      },
      galleries: (report) => renderTop('galleries', report, 'galleries'),
      keywords: (report) => renderTop('keywords', report, 'keywords'),
      segments: renderSegments,
      trends: renderTrends,
      experiments: renderExperiments,
    };
    results.forEach((result, index) => {
      const name = names[index];
      if (result.status === 'fulfilled') {
        try {
          renderers[name](result.value);
        } catch (error) {
          showPanelError(name, error);
        }
      } else {
        showPanelError(name, result.reason);
        if (name === 'ctr') {
          elements.totals.replaceChildren();
        }
      }
    });
    const failed = results.filter((result) => result.status === 'rejected').length;
    if (failed > 0) {
      showMessage('error', h('p', {}, `${failed} of ${results.length} reports could not be loaded; each affected section says why.`));
    }
  }

  async function refreshAggregates() {
    elements.refresh.disabled = true;
    showMessage('info', h('p', {}, 'Recomputing the aggregates…'));
    try {
      const report = await apiJson('/v1/admin/analytics/refresh', { method: 'POST' });
      const days = Array.isArray(report.days) ? report.days.length : 0;
      showMessage('info', h('p', {}, `Aggregates refreshed: ${days} days recomputed from ${formatNumber(report.events ?? 0)} events.`));
      await loadDashboard();
    } catch (error) {
      if (error instanceof ApiProblem && error.status === 403) {
        showMessage('error', h('p', {}, 'Refreshing the aggregates needs an admin key; this key is read-only. The reports still show the last aggregation.'));
      } else {
        handleError(error);
      }
    } finally {
      elements.refresh.disabled = false;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Start-up

  elements.keyForm.addEventListener('submit', (event) => {
    event.preventDefault();
    const key = elements.keyInput.value.trim();
    if (!key) {
      showKeyForm('Enter an API key.');
      return;
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    elements.keyInput.value = '';
    clearMessage();
    showDashboard();
    loadDashboard();
  });

  elements.signOut.addEventListener('click', () => signOut());
  elements.refresh.addEventListener('click', refreshAggregates);

  for (const input of document.querySelectorAll('input[name="range"]')) {
    if (Number(input.value) === Number(sessionStorage.getItem(RANGE_STORAGE))) {
      input.checked = true;
    }
    input.addEventListener('change', () => {
      sessionStorage.setItem(RANGE_STORAGE, input.value);
      clearMessage();
      loadDashboard();
    });
  }

  if (storedKey()) {
    showDashboard();
    loadDashboard();
  } else {
    showKeyForm();
  }
})();
