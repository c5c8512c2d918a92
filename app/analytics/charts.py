"""Plotly chart specs (plain dicts, JSON-ready) from the dashboard's pandas results.

The browser draws them with plotly.min.js, served by the shop from the installed `plotly`
package (no CDN). Money goes to the charts in yuan, the only place outside app/money.py
that divides fen, because the axis needs numbers; labels use format_fen.
"""

import numpy as np
import pandas as pd

from app.analytics.stats import WEEKDAYS
from app.money import format_fen

GREEN, ORANGE, BLUE, GREY = "#07c160", "#fa7d3c", "#1677ff", "#d0d7de"
_BASE_LAYOUT = {
    "margin": {"l": 48, "r": 12, "t": 8, "b": 36},
    "font": {"family": "PingFang SC, Noto Sans CJK SC, sans-serif", "size": 12},
    "paper_bgcolor": "rgba(0,0,0,0)",
    "plot_bgcolor": "rgba(0,0,0,0)",
    "legend": {"orientation": "h", "y": -0.2},
    "hoverlabel": {"font": {"size": 13}},
}


def _yuan(fen) -> list[float]:
    return [round(int(v) / 100, 2) for v in fen]


def _layout(**extra) -> dict:
    return {**_BASE_LAYOUT, **extra}


def revenue(frame: pd.DataFrame) -> dict | None:
    """Stacked bars: net sales and net tips per step. None (say so instead) when empty;
    likewise for every chart here."""
    if not frame.to_numpy().any():
        return None
    x = [d.isoformat() for d in frame.index]
    return {
        "data": [
            {
                "type": "bar",
                "name": "销售",
                "x": x,
                "y": _yuan(frame["purchases_fen"]),
                "marker": {"color": GREEN},
                "hovertemplate": "%{x}<br>销售 ¥%{y:,.2f}<extra></extra>",
            },
            {
                "type": "bar",
                "name": "赞赏",
                "x": x,
                "y": _yuan(frame["tips_fen"]),
                "marker": {"color": ORANGE},
                "hovertemplate": "%{x}<br>赞赏 ¥%{y:,.2f}<extra></extra>",
            },
        ],
        "layout": _layout(
            barmode="stack",
            xaxis={"tickformat": "%m-%d", "hoverformat": "%Y-%m-%d"},
            yaxis={"tickprefix": "¥", "rangemode": "tozero"},
            legend={**_BASE_LAYOUT["legend"], "traceorder": "normal"},
        ),
    }


def channels(frame: pd.DataFrame) -> dict | None:
    if not frame["paid_fen"].any():
        return None
    return {
        "data": [
            {
                "type": "pie",
                "hole": 0.55,
                "labels": frame["label"].tolist(),
                "values": _yuan(frame["paid_fen"]),
                "text": [format_fen(v) for v in frame["paid_fen"]],
                "textinfo": "percent",
                "hovertemplate": "%{label}<br>%{text} · %{percent}<extra></extra>",
                "marker": {"colors": [GREEN, BLUE, ORANGE]},
                "sort": False,
            }
        ],
        "layout": _layout(margin={"l": 8, "r": 8, "t": 8, "b": 8}, showlegend=True),
    }


def top_items(frame: pd.DataFrame, limit: int = 10) -> dict | None:
    """Horizontal bars of net revenue for the top items, biggest on top."""
    top = frame[frame["net_fen"] > 0].head(limit).iloc[::-1]
    if top.empty:
        return None
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": [_short(t) for t in top["title"]],
                "x": _yuan(top["net_fen"]),
                "customdata": top["paid_count"].tolist(),
                "marker": {"color": GREEN},
                "hovertemplate": "%{y}<br>¥%{x:,.2f} · %{customdata} 单<extra></extra>",
            }
        ],
        "layout": _layout(
            margin={"l": 8, "r": 12, "t": 8, "b": 30},
            xaxis={"tickprefix": "¥"},
            yaxis={"automargin": True},
        ),
    }


def heatmap(grid: np.ndarray) -> dict | None:
    if not grid.any():
        return None
    return {
        "data": [
            {
                "type": "heatmap",
                "z": grid.tolist(),
                "x": list(range(24)),
                "y": WEEKDAYS,
                "colorscale": [[0, "#f6f7f9"], [1, GREEN]],
                "zmin": 0,
                "hovertemplate": "%{y} %{x}时<br>%{z} 单<extra></extra>",
                "showscale": False,
            }
        ],
        "layout": _layout(
            xaxis={"tickvals": list(range(0, 24, 3)), "ticksuffix": "时", "tickangle": 0},
            yaxis={"autorange": "reversed"},
            margin={"l": 40, "r": 8, "t": 8, "b": 30},
        ),
    }


def cohorts(frame: pd.DataFrame) -> dict | None:
    if frame.empty:
        return None
    ages = [c for c in frame.columns if c != "size"]
    z = frame[ages].to_numpy(dtype=float) if ages else np.zeros((0, 0))
    return {
        "data": [
            {
                "type": "heatmap",
                "z": [[None if np.isnan(v) else round(v * 100, 1) for v in row] for row in z],
                "x": [f"+{a}月" for a in ages],
                "xtype": "array",
                "y": [c.strftime("%Y年%m月") for c in frame.index],
                "colorscale": [[0, "#f6f7f9"], [1, BLUE]],
                "zmin": 0,
                "zmax": 100,
                "hovertemplate": "%{y} 首购<br>%{x}：%{z}% 复购<extra></extra>",
                "showscale": False,
            }
        ],
        "layout": _layout(
            yaxis={"autorange": "reversed"}, margin={"l": 64, "r": 8, "t": 8, "b": 30}
        ),
    }


def _short(title: str, width: int = 14) -> str:
    return title if len(title) <= width else title[: width - 1] + "…"
