"""Plotly figures in French: locale 'fr' (assets/plotly-locale-fr.js), separators ', ',
a readable font, and the source line under every chart."""
from __future__ import annotations

import json

import plotly.graph_objects as go
from dash import Input, Output, clientside_callback, dcc, html

# Plotly's own download and share buttons are removed: the app's exports (components/export.py)
# carry the title, source and year that Plotly's "plot-image.png" lacks.
GRAPH_CONFIG = {"locale": "fr", "displaylogo": False, "showSendToCloud": False, "showEditInChartStudio": False,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "toImage", "sendDataToCloud"]}


def french_layout(fig: go.Figure, title: str | None = None, height: int | None = None) -> go.Figure:
    fig.update_layout(
        separators=", ",
        font={"family": "DejaVu Sans, Arial, sans-serif", "size": 14, "color": "#1d1d1f"},
        title={"text": title, "x": 0, "xanchor": "left"} if title else None,
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        paper_bgcolor="white", plot_bgcolor="white",
        **({"height": height} if height else {}),
    )
    # "5 000", never "5k": no SI suffixes, thousands separated the French way (separators above)
    axes = {"gridcolor": "#e5e5e5", "zerolinecolor": "#999", "automargin": True, "exponentformat": "none",
            "separatethousands": True}
    fig.update_xaxes(**axes)
    fig.update_yaxes(**axes)
    return fig


def graph(graph_id, fig: go.Figure, source: str | None = None, exports: bool = True,
          export_name: str | None = None, export_title: str | None = None, **kwargs) -> html.Div:
    """A chart, its source line and (exports=True) PNG/SVG/PDF export buttons
    (components.export.chart_exports, rendered on the server with kaleido); `export_title` titles
    the exported file (else the heading nearest the chart)."""
    from components.export import chart_exports

    return html.Div([
        dcc.Graph(id=graph_id, figure=fig, config=GRAPH_CONFIG, **kwargs),
        html.P(source, className="source-line") if source else None,
        chart_exports(graph_id, export_name, export_title, block_id=f"{graph_id}-exports") if exports else None,
    ], className="graph-block")


def deferred_graph(graph_id: str, source: str | None = None, exports: bool = True,
                   export_name: str | None = None, export_title: str | None = None) -> html.Div:
    """graph() whose dcc.Graph is mounted only once the page's map has drawn (defer_graphs): until
    then Plotly's library (about 0.9 s of the browser's main thread on this machine) is not even
    loaded, so the map comes first. The owner's callback gives the figure (its initial call runs when
    the graph is inserted). Its export buttons are `{graph_id}-exports`."""
    from components.export import chart_exports

    return html.Div([
        html.Div(html.P("Graphique en cours de chargement…", className="muted graph-pending"),
                 id=f"{graph_id}-slot", className="graph-slot"),
        html.P(source, className="source-line") if source else None,
        chart_exports(graph_id, export_name, export_title, block_id=f"{graph_id}-exports") if exports else None,
    ], className="graph-block")


def defer_graphs(map_id: str, graph_ids: list[str], companions: dict[str, list[tuple[str, str]]] | None = None) -> None:
    """Insert the deferred graphs of a page once its map has drawn its shapes (assets/atlas.js:
    atlas.afterMap), or after 4 s whatever the map does. `companions`: per graph, (id, class) of
    the Divs inserted under it (its source line, its text alternative), so that one callback whose
    outputs are the figure and these texts runs once, when they are all inserted, instead of one
    callback for the texts on load. Call once, at import time of the owner."""
    extra = {g: [{"type": "Div", "namespace": "dash_html_components",
                  "props": {"id": i, "className": c, "aria-live": "polite"}} for i, c in items]
             for g, items in (companions or {}).items()}
    clientside_callback(
        """function (_mapId) {
            const graphs = %s, config = %s, extra = %s;
            return window.atlas.afterMap(%s).then(function () {
                return graphs.map(function (id) {
                    const g = {type: "Graph", namespace: "dash_core_components",
                               props: {id: id, config: config, figure: {data: [], layout: {}}}};
                    return extra[id] ? [g].concat(extra[id]) : g;
                });
            });
        }""" % (json.dumps(graph_ids), json.dumps(GRAPH_CONFIG), json.dumps(extra), json.dumps(map_id)),
        [Output(f"{g}-slot", "children") for g in graph_ids], Input(map_id, "id"))
