"""What the browser does without the server: display-only selectors and the paused frame.

    fig = browser.choices_figure(lambda c: figures.state_heatmaps(trace, c["sample"]),
                                 {"sample": 2}, {"sample": 0})  # every sample row in one
    fig = browser.for_page(animation_fig, "frame", start="12")  # a link opens on frame 12

A selector that only changes what is displayed (which sample row of the batch) need not
ask the server: when every choice fits in MAX_BYTES, the figure carries all of them (one
set of traces per choice, only the chosen one visible). The page script SCRIPT draws each
other choice ahead (in idle time, once the pointer or the keyboard reaches a selector) as a
chart of its own kept out of sight beside the original; a change of selector only swaps
which chart is on show (no plotly drawing between the click and the picture: plotly.js
redraws a whole chart for any change of data or visibility, 35-50 ms a chart on 2 cores),
then writes the choice into the URL. The
server reads it from the URL on its next run, so a shared link opens on it. Past the
bound, `choices_figure` returns None and the page keeps its server-side selector.

SCRIPT also writes an animation's frame into the URL when it stops (paused, at its end, or
the slider let go) under the key in the figure's meta, and plays a link's frame from there.
It uses the plotly.js that Streamlit's chart element puts on `window.Plotly`.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go

#: What a chart (or a block of text) with every choice of its selectors may weigh, at most
#: (about, as JSON): 1 MB, or RNNVIZ_BROWSER_MB (0: every selector goes through the server,
#: as before issue 22). It travels again with every change of a control: at 3 MB a 64-unit,
#: 8-row States view sent 2.4 MB per change and took 2.7 times a plain page's time to
#: draw it (`make bench-browser`, (a)); past 1 MB, the server's selectors.
MAX_BYTES = int(float(os.environ.get("RNNVIZ_BROWSER_MB", "1")) * 2**20)
#: At most this many choices in one chart (each is a figure built on the server and a
#: chart drawn ahead in the browser): past it, the server's selectors.
MAX_CHOICES = 64


def choices_figure(
    build: Callable[[dict[str, int]], go.Figure],
    counts: dict[str, int],
    chosen: dict[str, int],
) -> go.Figure | None:
    """One figure holding `build(choice)` for every choice of several selectors (`counts`:
    each selector's URL parameter and how many values it has), `chosen` visible.

    The page script switches a selector's value in every chart that has it. The figures
    must differ only in their traces and title (ValueError if not: a chart drawn ahead
    would keep the first one's axes). Returns None when there are more than MAX_CHOICES
    or all of them would be over MAX_BYTES (the first one tells).
    """
    params = list(counts)
    choices = [dict(zip(params, values, strict=True))
               for values in itertools.product(*(range(counts[p]) for p in params))]  # fmt: skip
    key = ",".join(str(chosen[p]) for p in params)
    if len(choices) > MAX_CHOICES or MAX_BYTES <= 0:
        return None
    first = build(choices[0])
    if len(first.to_json()) * len(choices) > MAX_BYTES:
        return None
    data, owner, shown, titles = [], [], [], {}
    frame = _without_title(first)
    for choice in choices:
        fig = first if choice is choices[0] else build(choice)
        here = ",".join(str(choice[p]) for p in params)
        if fig is not first and _without_title(fig) != frame:
            raise ValueError(f"the figure for {choice} has another layout than for {choices[0]}")
        for trace in fig.data:
            data.append(trace.to_plotly_json())
            shown.append(trace.visible is not False)
            data[-1]["visible"] = shown[-1] and here == key
            owner.append(here)
        titles[here] = fig.layout.title.text or ""
        if here == key:
            layout = fig.layout.to_plotly_json()
    meta = dict(layout.get("meta") or {})
    meta["rnnviz_rows"] = {"params": params, "counts": counts, "chosen": chosen,
                           "owner": owner, "shown": shown, "titles": titles}  # fmt: skip
    layout["meta"] = meta
    return go.Figure(data=data, layout=layout, _validate=False)


def _without_title(fig: go.Figure) -> dict:
    layout = fig.layout.to_plotly_json()
    layout.pop("title", None)
    return layout


@dataclass(frozen=True)
class Kept:
    """A figure or a text block (or None: did not fit) kept in a byte-bounded cache
    (rnnviz.serving.memory), sized by the JSON it holds."""

    figure: go.Figure | dict | None
    size: int

    def nbytes_estimate(self) -> int:
        return 2 * self.size + 1024


def kept_choices(
    build: Callable[[dict[str, int]], go.Figure], counts: dict[str, int], chosen: dict[str, int]
) -> Kept:
    """`choices_figure` wrapped for a cache (its size: the figure's JSON, about)."""
    fig = choices_figure(build, counts, chosen)
    return Kept(fig, 0 if fig is None else len(fig.to_json()))


#: At most this many choices in a block of text the browser switches (the Step inspector:
#: batch x sample x timestep x unit, 240 by default; each is about 2 KB and 1 ms to make,
#: so a new configuration's block takes at most a quarter of a second).
MAX_TEXT_CHOICES = 256


def step_equations_html(trace) -> dict | None:
    """The Step inspector for every (batch, sample, timestep, unit) of `trace`, as HTML the
    page script switches: each choice's equations (rnnviz.views.equations) as MathML, which
    the browser typesets itself (converted by latex2mathml), then the input at the step.
    None past MAX_TEXT_CHOICES or MAX_BYTES: the server's selectors and st.latex, as before.
    """
    from html import escape

    import numpy as np
    from latex2mathml.converter import convert

    from rnnviz.views.equations import step_equations

    cfg = trace.config
    counts = {"batch": cfg.num_batches, "sample": cfg.batch_size, "t": cfg.num_steps,
              "unit": cfg.hidden_size}  # fmt: skip
    if MAX_BYTES <= 0 or int(np.prod(list(counts.values()))) > MAX_TEXT_CHOICES:
        return None
    html, size = {}, 0
    for batch, sample, t, unit in itertools.product(*(range(n) for n in counts.values())):
        equations = "".join(
            f"<div class='rnnviz-equation'>{_signed(convert(line, display='block'))}</div>"
            for line in step_equations(trace, batch, sample, t, unit)
        )
        x_t = escape(np.array2string(trace.inputs[batch, sample, t], precision=6))
        block = f"{equations}<p><strong>The input at this step:</strong> x_t = <code>{x_t}</code>"
        block += "</p>"
        size += len(block) + 16
        if size > MAX_BYTES:
            return None
        html[f"{batch},{sample},{t},{unit}"] = block
    return {"params": list(counts), "counts": counts, "html": html}


def _signed(mathml: str) -> str:
    """A minus sign before a number as part of the number ("(−0.5)"), not an operator with
    space around it ("( − 0.5)"), as TeX sets it."""
    return re.sub(r"<mo>&#x02212;</mo><mn>", "<mn>&#x02212;", mathml)


def kept_step_equations(trace) -> Kept:
    """`step_equations_html` wrapped for a cache."""
    block = step_equations_html(trace)
    return Kept(block, 0 if block is None else sum(len(v) + 16 for v in block["html"].values()))


def for_page(fig: go.Figure, url_key: str | None, start: str | None = None) -> go.Figure:
    """The animation as a page shows it: SCRIPT writes its stopped frame into the URL as
    `url_key`, and it opens on frame `start` (its data, its slider) when a link gives one.

    `fig` is not changed, and its frames are shared, not copied (a cached 300-frame
    animation took a second to copy). Raises KeyError for a `start` that is not a frame.
    """
    from rnnviz.views.animation import at_frame

    anim = {**fig.layout.meta["rnnviz_animation"], "url_key": url_key}
    if start is None:
        data = [d.to_plotly_json() for d in fig.data]
        layout = fig.layout.to_plotly_json()
    else:
        names = [frame.name for frame in fig.frames]
        if start not in names:
            raise KeyError(start)
        index = names.index(start)
        data, layout = at_frame(fig, index)
        layout["sliders"] = [{**layout["sliders"][0], "active": index}]
        anim["start"] = start
    layout["meta"] = {**layout["meta"], "rnnviz_animation": anim}
    menus = [dict(menu) for menu in layout.get("updatemenus") or []]
    if menus:  # one frame back or on, by the page script (plotly.js has no relative step)
        buttons = list(menus[0]["buttons"])
        buttons[2:2] = [dict(label=label, method="skip", args=[None]) for label in STEPS]
        menus[0] = {**menus[0], "buttons": buttons}
        layout["updatemenus"] = menus
        _slider_below_buttons(layout)
    out = go.Figure(data=data, layout=layout, _validate=False)
    out._frame_objs = fig._frame_objs  # the same Frame objects: read-only here
    return out


def _slider_below_buttons(layout: dict, gap: int = 48) -> None:
    """With the step buttons the row of buttons is too long to share with the slider: the
    slider goes on a row of its own, `gap` px lower, as wide as the plot, and the figure
    grows by that much below (the plot keeps its size)."""
    if not layout.get("sliders"):
        return
    margin = dict(layout.get("margin") or {})
    height = layout.get("height") or 450
    plot = height - margin.get("t", 100) - margin.get("b", 80)
    below = layout["updatemenus"][0].get("y", -0.15) - gap / max(plot, 1)
    layout["sliders"] = [{**layout["sliders"][0], "x": 0, "len": 1, "y": below,
                          "yanchor": "top"}]  # fmt: skip
    layout["margin"] = {**margin, "b": margin.get("b", 80) + gap}
    layout["height"] = height + gap


#: The step buttons a page's animation gets (after ▶ play and ❚❚ pause): one frame back,
#: one frame on. They do nothing by themselves; the page script moves the frame.
STEPS = {"◀ step": -1, "step ▶": 1}

#: The page script (a Streamlit component v2 module; it runs in the app's page).
SCRIPT = r"""
function install() {
  const api = {switches: [], lastSwitchMs: null, chosen: {}};
  const setParam = (key, value) => {
    const url = new URL(window.location.href);
    if (url.searchParams.get(key) === String(value)) return;
    url.searchParams.set(key, String(value));
    window.history.replaceState(window.history.state, "", url);
  };
  const meta = (gd, name) => gd.layout && gd.layout.meta && gd.layout.meta[name];
  const charts = () => Array.from(document.querySelectorAll(".js-plotly-plot"))
    .filter((gd) => !isLayer(gd));

  // One frame back or on from the frame shown (the step buttons).
  const STEPS = __STEPS__;
  const step = (gd, by) => {
    const names = gd._transitionData._frames.map((f) => f.name);
    const slider = gd._fullLayout.sliders && gd._fullLayout.sliders[0];
    let at = names.indexOf(gd._fullLayout._currentFrame);
    if (at < 0) at = slider ? slider.active || 0 : 0;
    const to = Math.max(0, Math.min(names.length - 1, at + by));
    const anim = meta(gd, "rnnviz_animation") || {};
    window.Plotly.animate(gd, [names[to]], {mode: "immediate",
      frame: {duration: 0, redraw: !!anim.redraw}, transition: {duration: 0}});
  };

  // Animations: the frame shown when playing stops goes into the URL; a link's frame is
  // where the next play starts from.
  const hook = (gd) => {
    const anim = meta(gd, "rnnviz_animation");
    if (!anim || !window.Plotly || !gd._fullLayout) return;
    if (!gd.__rnnvizHooked) {
      gd.__rnnvizHooked = true;
      let timer = null;
      const remember = (name) => {
        const key = (meta(gd, "rnnviz_animation") || {}).url_key;
        if (!key || name == null) return;
        clearTimeout(timer);
        timer = setTimeout(() => setParam(key, name), 300);
      };
      gd.on("plotly_animatingframe", (e) => remember(e.name));
      gd.on("plotly_sliderchange", (e) => remember(e.step && e.step.label));
      gd.on("plotly_buttonclicked", (e) => {
        const by = STEPS[e.button && e.button.label];
        if (by) step(gd, by);
      });
    }
    if (anim.start != null && gd.__rnnvizStarted !== gd.layout.meta) {
      gd.__rnnvizStarted = gd.layout.meta;
      const redraw = !!anim.redraw;
      window.Plotly.animate(gd, [String(anim.start)], {mode: "immediate",
        frame: {duration: 0, redraw: redraw}, transition: {duration: 0}});
    }
  };

  // Display-only selectors. A chart whose meta has rnnviz_rows carries every choice's
  // traces (owner[i]: the choice of trace i, its selectors' indices joined by ",").
  // Each choice is drawn ahead (in idle time, once a selector is reached: api.soon) as a
  // chart of its own next to the original and out of sight (a "layer"); a change of
  // selector shows that layer and hides the chart shown before: no plotly drawing
  // between the click and the picture. A choice with no layer yet (or past MAX_LAYERS on
  // the page) is drawn on the original chart with Plotly.update. A new figure from the
  // server, or a new width, drops the layers.
  const MAX_LAYERS = 48;
  const withRows = new Set();
  let layerCount = 0;
  const isLayer = (gd) => !!gd.__rnnvizLayer;
  const keyOf = (rows) => rows.params.map((p) => (p in api.chosen ? api.chosen[p]
                                                  : rows.chosen[p])).join(",");
  const offstage = (div) => {
    div.style.position = "absolute";
    div.style.left = "-100000px";
    div.style.top = "0";
    div.style.visibility = "hidden";
    div.dataset.rnnvizHidden = "";  // what the tests and benchmarks skip
  };
  const onstage = (div) => {
    div.style.position = "";
    div.style.left = "";
    div.style.top = "";
    div.style.visibility = "";
    delete div.dataset.rnnvizHidden;
  };
  const widthOf = (gd) => gd.layout.width || (gd._fullLayout && gd._fullLayout.width);
  const drop = (s) => {
    s.dropped = true;
    for (const div of s.layers.values()) {
      if (window.Plotly) window.Plotly.purge(div);
      div.remove();
      layerCount--;
    }
    s.layers.clear();
    s.gd.style.display = "";
    delete s.gd.dataset.rnnvizHidden;
    withRows.delete(s);
  };
  // A choice's title, bold if the page made the first one bold (Streamlit's theme does).
  const titled = (s, key) => {
    const text = s.rows.titles[key] || "";
    return s.title.startsWith("<b>") ? `<b>${text}</b>` : text;
  };
  const drawOriginal = (s, key) => {
    if (s.drawn === key) return Promise.resolve();
    s.drawn = key;
    const rows = s.rows;
    const visible = rows.owner.map((o, i) => o === key && rows.shown[i]);
    return window.Plotly.update(s.gd, {visible: visible}, {"title.text": titled(s, key)});
  };
  const display = async (s, key) => {
    const layer = s.layers.get(key);
    const before = s.onstage;
    if (layer) {
      if (before === layer) return;
      onstage(layer);
      s.onstage = layer;
    } else {
      await drawOriginal(s, key);
      s.gd.style.display = "";
      delete s.gd.dataset.rnnvizHidden;
      s.onstage = s.gd;
    }
    if (before && before !== s.onstage) {
      if (before === s.gd) {
        s.gd.style.display = "none";
        s.gd.dataset.rnnvizHidden = "";
      } else offstage(before);
    }
  };
  const drawLayer = async (s, key) => {
    const gd = s.gd;
    const rows = s.rows;
    const data = [];
    rows.owner.forEach((o, i) => {
      if (o === key) data.push({...gd.data[i], visible: rows.shown[i]});
    });
    const layout = JSON.parse(JSON.stringify(gd.layout));
    layout.title = {...(layout.title || {}), text: titled(s, key)};
    layout.width = s.width;
    layout.height = gd._fullLayout.height;
    layout.autosize = false;
    const div = document.createElement("div");
    div.__rnnvizLayer = true;
    div.dataset.rnnvizLayer = key;
    offstage(div);
    gd.parentElement.appendChild(div);
    layerCount++;
    const ctx = gd._context || {};
    await window.Plotly.newPlot(div, data, layout, {
      displaylogo: false, responsive: false, displayModeBar: ctx.displayModeBar,
      modeBarButtonsToRemove: ctx.modeBarButtonsToRemove, scrollZoom: ctx.scrollZoom,
      toImageButtonOptions: ctx.toImageButtonOptions});
    if (s.dropped) {
      window.Plotly.purge(div);
      div.remove();
      layerCount--;
      return;
    }
    s.layers.set(key, div);
  };
  const idle = () => new Promise((resolve) =>
    (window.requestIdleCallback || ((f) => setTimeout(f, 16)))(() => resolve(), {timeout: 500}));
  const keysByDistance = (s) => {
    const here = s.rows.owner.indexOf(keyOf(s.rows));
    const keys = [...new Set(s.rows.owner)];
    return keys.sort((a, b) => Math.abs(s.rows.owner.indexOf(a) - here)
                               - Math.abs(s.rows.owner.indexOf(b) - here));
  };
  // Only when a choice is likely: as the pointer or the keyboard reaches a selector (a
  // choice takes a person a few hundred ms more). Drawing ahead on every new figure, even
  // 1.5 s later, held up the page's next change half the time (~40 ms a chart, on the
  // page's one thread: `make bench-browser` (a)).
  api.soon = () => {
    for (const s of withRows) buildLayers(s);
  };
  const buildLayers = async (s) => {
    if (s.started) return;
    s.started = true;
    for (const key of keysByDistance(s)) {
      await idle();
      if (s.dropped || layerCount >= MAX_LAYERS) break;
      if (key !== s.first && !s.layers.has(key) && s.gd.isConnected) await drawLayer(s, key);
    }
    s.built = true;
  };
  // What the URL holds for a selector (the browser writes its choices there, and the
  // server its own): the choice to show, whoever made it.
  const fromUrl = (param, count) => {
    const raw = new URL(window.location.href).searchParams.get(param);
    const value = raw === null ? NaN : Number(raw);
    return Number.isInteger(value) && value >= 0 && value < count ? value : null;
  };
  const watchRows = (gd) => {
    const rows = meta(gd, "rnnviz_rows");
    let s = gd.__rnnvizRows;
    if (s && s.meta === gd.layout.meta && s.width === widthOf(gd)) return;
    if (s) drop(s);
    gd.__rnnvizRows = null;
    if (!rows || !window.Plotly || !gd._fullLayout) return;
    const drawn = rows.params.map((p) => rows.chosen[p]).join(",");
    for (const p of rows.params) {
      const chosen = fromUrl(p, rows.counts[p]);
      api.chosen[p] = chosen === null ? rows.chosen[p] : chosen;
    }
    s = {gd, rows, meta: gd.layout.meta, width: widthOf(gd), layers: new Map(),
         first: drawn, drawn: drawn, onstage: gd, dropped: false, built: false,
         title: (gd.layout.title && gd.layout.title.text) || ""};
    gd.__rnnvizRows = s;
    withRows.add(s);
    if (keyOf(rows) !== drawn) display(s, keyOf(rows));  // redrawn by Streamlit (a resize)
  };
  // Blocks of text with a version per choice (the Step inspector's equations): the one
  // of the current choice is in the page; a change of selector puts in another.
  const texts = new Set();
  const drawText = (block) => {
    const d = block.data;
    const key = d.params.map((p) => (p in api.chosen ? api.chosen[p] : d.chosen[p])).join(",");
    if (block.key === key) return;
    block.key = key;
    block.root.innerHTML = d.html[key] || "";
  };
  api.text = (root, data) => {
    for (const p of data.params) {
      const chosen = fromUrl(p, data.counts[p]);
      api.chosen[p] = chosen === null ? data.chosen[p] : chosen;
    }
    const block = root.__rnnvizText || {root};
    root.__rnnvizText = block;
    if (block.data !== data) block.key = null;
    block.data = data;
    texts.add(block);
    drawText(block);
  };
  // Panes: the server draws one per choice (Streamlit containers keyed rnnviz_<name>_<i>,
  // tables and checks it writes); a style element shows only the chosen one.
  const panes = new Map();
  const drawPanes = (pane) => {
    const chosen = pane.param in api.chosen ? api.chosen[pane.param] : pane.chosen;
    const hidden = [];
    for (let i = 0; i < pane.count; i++) {
      if (i !== chosen) hidden.push(`.st-key-rnnviz_${pane.name}_${i}`);
    }
    pane.style.textContent = hidden.length
      ? `${hidden.join(", ")} { display: none !important; }` : "";
  };
  api.panes = (data) => {
    const chosen = fromUrl(data.param, data.count);
    api.chosen[data.param] = chosen === null ? data.chosen : chosen;
    let pane = panes.get(data.name);
    if (!pane) {
      pane = {style: document.createElement("style")};
      document.head.appendChild(pane.style);
      panes.set(data.name, pane);
    }
    Object.assign(pane, data);
    drawPanes(pane);
    document.body.setAttribute(`data-rnnviz-panes-${data.name}`, "");  // the server's rule off
  };
  api.ready = () => [...withRows].every((s) => s.built);  // every layer drawn

  api.show = async (param, value) => {
    const started = performance.now();
    api.chosen[param] = value;
    const shown = [];
    for (const s of withRows) {
      if (s.rows.params.includes(param)) shown.push(display(s, keyOf(s.rows)));
    }
    for (const pane of panes.values()) if (pane.param === param) drawPanes(pane);
    for (const block of [...texts]) {
      if (!block.root.isConnected) texts.delete(block);
      else if (block.data.params.includes(param)) drawText(block);
    }
    await Promise.all(shown);
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    api.lastSwitchMs = performance.now() - started;
    api.switches.push(api.lastSwitchMs);
    setParam(param, value);
  };

  api.selector = (root, data) => {
    root.innerHTML = "";
    const label = document.createElement("label");
    label.className = "rnnviz-select";
    label.textContent = data.label + " ";
    const select = document.createElement("select");
    select.setAttribute("aria-label", data.label);
    select.dataset.param = data.param;
    for (let i = 0; i < data.count; i++) {
      const option = document.createElement("option");
      option.value = String(i);
      option.textContent = String(i);
      select.appendChild(option);
    }
    select.value = String(data.value);
    select.addEventListener("change", () => api.show(data.param, Number(select.value)));
    for (const intent of ["pointerenter", "focus", "pointerdown"]) {
      select.addEventListener(intent, api.soon);
    }
    label.appendChild(select);
    root.appendChild(label);
  };

  let pending = false;
  const scan = () => {
    pending = false;
    for (const s of [...withRows]) if (!s.gd.isConnected) drop(s);
    for (const gd of charts()) {
      hook(gd);
      watchRows(gd);
    }
  };
  new MutationObserver(() => {
    if (!pending) { pending = true; requestAnimationFrame(scan); }
  }).observe(document.body, {childList: true, subtree: true});
  scan();
  return api;
}

export default function (component) {
  const api = window.__rnnviz || (window.__rnnviz = install());
  const data = component.data || {};
  if (data.param) api.selector(component.parentElement, data);
  else if (data.text) api.text(component.parentElement, data.text);
  else if (data.panes) api.panes(data.panes);
}
"""

SCRIPT = SCRIPT.replace("__STEPS__", json.dumps(STEPS, ensure_ascii=False))

#: Its style: a compact selector in the page's colours.
STYLE = """
.rnnviz-select { font-size: 0.875rem; color: var(--st-text-color, inherit); }
.rnnviz-equation { margin: 0.6rem 0; overflow-x: auto; font-size: 1.15rem; }
.rnnviz-equation math { font-family: "Latin Modern Math", "STIX Two Math", math, serif; }
.rnnviz-select select { margin-left: 0.5rem; padding: 0.35rem 0.6rem; min-width: 5rem;
  border-radius: 0.5rem; border: 1px solid var(--st-border-color, #d6d6d9);
  background: var(--st-secondary-background-color, #f0f2f6); color: inherit; font: inherit; }
"""
