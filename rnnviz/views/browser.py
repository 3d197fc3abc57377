"""What the browser does without the server: display-only selectors and the paused frame.

    fig = browser.rows_figure(lambda s: figures.state_heatmaps(trace, s), count=2,
                              chosen=0, param="sample")   # every sample row in one figure
    fig = browser.for_page(animation_fig, "frame", start="12")  # a link opens on frame 12

A selector that only changes what is displayed (which sample row of the batch) need not
ask the server: when every choice fits in MAX_BYTES, the figure carries all of them (one
set of traces per choice, only the chosen one visible) and the page script SCRIPT shows
another with `Plotly.update`, then writes the choice into the URL. The server reads it from
the URL on its next run, so a shared link opens on it. Past the bound, `rows_figure`
returns None and the page keeps its server-side selector.

SCRIPT also writes an animation's frame into the URL when it stops (paused, at its end, or
the slider let go) under the key in the figure's meta, and plays a link's frame from there.
It uses the plotly.js that Streamlit's chart element puts on `window.Plotly`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go

#: The figure with every choice of a selector, at most (about, as JSON): 3 MB, or
#: RNNVIZ_BROWSER_MB (0: every selector goes through the server, as before issue 22).
MAX_BYTES = int(float(os.environ.get("RNNVIZ_BROWSER_MB", "3")) * 2**20)


def rows_figure(
    build: Callable[[int], go.Figure], count: int, chosen: int, param: str, label: str = ""
) -> go.Figure | None:
    """One figure holding `build(i)` for every i in range(count), `chosen` visible.

    The figures must differ only in their traces and title (the same panels and axes).
    Returns None when all of them would be over MAX_BYTES (the first one tells).
    """
    first = build(0)
    one = len(first.to_json())
    if one * count > MAX_BYTES:
        return None
    figures = [first] + [build(i) for i in range(1, count)]
    data, owner, titles = [], [], []
    for index, fig in enumerate(figures):
        for trace in fig.data:
            data.append(trace.to_plotly_json())
            data[-1]["visible"] = bool(trace.visible is not False) and index == chosen
            owner.append(index)
        titles.append(fig.layout.title.text or "")
    layout = figures[chosen].layout.to_plotly_json()
    meta = dict(layout.get("meta") or {})
    meta["rnnviz_rows"] = {"param": param, "label": label or param, "count": count,
                           "chosen": chosen, "owner": owner, "titles": titles}  # fmt: skip
    layout["meta"] = meta
    return go.Figure(data=data, layout=layout, _validate=False)


@dataclass(frozen=True)
class Kept:
    """A figure (or None: did not fit) kept in a byte-bounded cache (rnnviz.serving.memory),
    sized by the JSON it holds."""

    figure: go.Figure | None
    size: int

    def nbytes_estimate(self) -> int:
        return 2 * self.size + 1024


def kept_rows(build: Callable[[int], go.Figure], count: int, chosen: int, param: str) -> Kept:
    """`rows_figure` wrapped for a cache (its size: the figure's JSON, about)."""
    fig = rows_figure(build, count, chosen, param)
    return Kept(fig, 0 if fig is None else len(fig.to_json()))


def for_page(fig: go.Figure, url_key: str, start: str | None = None) -> go.Figure:
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
    out = go.Figure(data=data, layout=layout, _validate=False)
    out._frame_objs = fig._frame_objs  # the same Frame objects: read-only here
    return out


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
  const charts = () => Array.from(document.querySelectorAll(".js-plotly-plot"));

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
    }
    if (anim.start != null && gd.__rnnvizStarted !== gd.layout.meta) {
      gd.__rnnvizStarted = gd.layout.meta;
      const redraw = !!anim.redraw;
      window.Plotly.animate(gd, [String(anim.start)], {mode: "immediate",
        frame: {duration: 0, redraw: redraw}, transition: {duration: 0}});
    }
  };

  // Display-only selectors: show another choice's traces, in every chart that has them.
  api.show = async (param, value) => {
    const started = performance.now();
    const updates = [];
    for (const gd of charts()) {
      const rows = meta(gd, "rnnviz_rows");
      if (!rows || rows.param !== param || !window.Plotly) continue;
      const visible = rows.owner.map((o) => o === value);
      const layout = rows.titles[value] ? {"title.text": rows.titles[value]} : {};
      updates.push(window.Plotly.update(gd, {visible: visible}, layout));
    }
    await Promise.all(updates);
    await new Promise((resolve) => requestAnimationFrame(() => resolve()));
    api.lastSwitchMs = performance.now() - started;
    api.switches.push(api.lastSwitchMs);
    api.chosen[param] = value;
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
    label.appendChild(select);
    root.appendChild(label);
  };

  let pending = false;
  const scan = () => {
    pending = false;
    for (const gd of charts()) hook(gd);
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
}
"""

#: Its style: a compact selector in the page's colours.
STYLE = """
.rnnviz-select { font-size: 0.875rem; color: var(--st-text-color, inherit); }
.rnnviz-select select { margin-left: 0.5rem; padding: 0.35rem 0.6rem; min-width: 5rem;
  border-radius: 0.5rem; border: 1px solid var(--st-border-color, #d6d6d9);
  background: var(--st-secondary-background-color, #f0f2f6); color: inherit; font: inherit; }
"""
