"""Whole minutes that add up: the rounding of a report's times, done once for every renderer.

A report shows times in whole minutes, and shows sums beside their parts both ways: seated time
beside sitting upright and slouching, worn time beside its states, and in a week each day's worn,
seated and unseen time beside the week's. Rounding each figure on its own can show a total of 2:59
whose parts add up to 3:00. Adding up rounded parts lets a total drift several minutes from its
true value; largest-remainder rounding fixes one direction only (a week's columns, or a day's
parts), not both at once.

``controlled_round`` rounds the whole table at once (a *controlled rounding*): every cell (a day's
time in one state) goes down or up to a whole step, so that every sum a report shows (a group of
columns in a row, or over all rows) is its exact value rounded down or up, and the sum of the
shown cells. How: the table and its sums are a flow that goes down a tree of the week's sums,
through the cells and up each day's tree of sums; the exact flow is fractional. A flow around a
cycle of fractional edges keeps every sum adding up, so pushing one until an edge is whole, again
and again, makes them all whole, each rounded down or up (Cox's method). Then any cycle whose
turning brings the figures nearer to their exact values, the large sums first, is turned (a
minimum-cost circulation; exact halves go down). Integer arithmetic throughout (milliseconds), so
"adds up" is exact. Pure Python: a week is some 150 edges.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Optional, Sequence

import numpy as np

#: Values are counted in whole milliseconds, so that sums and remainders are exact.
_MS = 1000


def controlled_round(seconds: np.ndarray, groups: Sequence[Sequence[int]], step_s: float = 60.0) -> np.ndarray:
    """``seconds``: rows x columns of non-negative times (e.g. days x states). ``groups``: sets of
    columns whose sums are shown, nested or apart (each column is shown on its own too), in each
    row and over all rows. Returns the table in whole ``step_s`` (as seconds): each cell, and every
    group's sum in a row or over all rows, is its exact value rounded down or up, as near to it as
    the others allow (the sums of more cells first)."""
    cells = np.rint(np.maximum(np.asarray(seconds, dtype=np.float64), 0.0) * _MS).astype(np.int64)
    unit = int(round(step_s * _MS))
    n_rows, n_cols = cells.shape
    tree = _tree(n_cols, groups)
    root = frozenset(range(n_cols))

    # the network: node 0 closes the circulation; W(g): the sum of group g over all rows; D(r, g):
    # in row r. Edges: 0 -> W(all) -> ... -> W({c}) -> (cell r, c) -> D(r, {c}) -> ... -> D(r, all) -> 0
    ids: dict = {}

    def node(key) -> int:
        return ids.setdefault(key, len(ids) + 1)

    edges: list[list[int]] = []   # [tail, head, exact flow (ms), weight]
    cell_edge = np.zeros((n_rows, n_cols), dtype=np.int64)
    edges.append([0, node(("W", root)), int(cells.sum()), n_rows * n_cols])
    for g, parent in tree.items():
        edges.append([node(("W", parent)), node(("W", g)), int(cells[:, sorted(g)].sum()), n_rows * len(g)])
    for r in range(n_rows):
        for c in range(n_cols):
            cell_edge[r, c] = len(edges)
            edges.append([node(("W", frozenset([c]))), node(("D", r, frozenset([c]))), int(cells[r, c]), 1])
        for g, parent in tree.items():
            edges.append([node(("D", r, g)), node(("D", r, parent)), int(cells[r, sorted(g)].sum()), len(g)])
        edges.append([node(("D", r, root)), 0, int(cells[r].sum()), n_cols])

    exact = [e[2] for e in edges]
    flow = _round_cycles(edges, unit)
    _nearest(edges, exact, flow, unit)
    return np.array([[flow[cell_edge[r, c]] for c in range(n_cols)] for r in range(n_rows)],
                    dtype=np.float64).reshape(n_rows, n_cols) * step_s


def _tree(n_cols: int, groups: Sequence[Sequence[int]]) -> dict[frozenset, frozenset]:
    """Each group's parent: the smallest group holding it (columns alone and all columns added)."""
    sets = sorted({frozenset(g) for g in groups} | {frozenset([c]) for c in range(n_cols)}
                  | {frozenset(range(n_cols))}, key=len)
    parent = {}
    for i, g in enumerate(sets[:-1]):
        for h in sets[i + 1:]:
            if g & h and not g <= h:
                raise ValueError(f"groups must nest or be apart: {sorted(g)} and {sorted(h)}")
            if g < h and g not in parent:
                parent[g] = h
    return parent


def _round_cycles(edges: list[list[int]], unit: int) -> list[int]:
    """Whole flows (in units), each the exact one rounded down or up, still a circulation."""
    flow = [e[2] for e in edges]
    at: dict[int, set[int]] = defaultdict(set)   # node -> its edges with a fractional flow
    for i, (a, b, f, _) in enumerate(edges):
        if f % unit:
            at[a].add(i)
            at[b].add(i)
    while any(at.values()):
        # every node has no fractional edge or at least two (what comes in goes out): walk to a cycle
        v = next(n for n, es in at.items() if es)
        path: list[tuple[int, int]] = []
        seen = {v: 0}
        came = -1
        while True:
            i = min(e for e in at[v] if e != came)
            a, b = edges[i][0], edges[i][1]
            path.append((i, 1 if a == v else -1))
            v, came = (b if a == v else a), i
            if v in seen:
                cycle = path[seen[v]:]
                break
            seen[v] = len(path)
        # push along the cycle, forwards or backwards, by the smaller step that makes an edge whole
        fwd = min(unit - flow[i] % unit if s > 0 else flow[i] % unit for i, s in cycle)
        back = min(flow[i] % unit if s > 0 else unit - flow[i] % unit for i, s in cycle)
        step = fwd if fwd <= back else -back
        for i, s in cycle:
            flow[i] += s * step
            if flow[i] % unit == 0:
                for n in edges[i][:2]:
                    at[n].discard(i)
    return [f // unit for f in flow]


def _nearest(edges: list[list[int]], exact: list[int], flow: list[int], unit: int) -> None:
    """Turn every cycle that brings the flows nearer to their exact values (weighted), in place."""
    k = len(edges) + 1
    loose = [i for i, f in enumerate(exact) if f % unit]
    # cost of one more unit on edge i: how much further from its exact value (in ms), times its
    # weight; times k plus 1, so that of two equally near roundings the lower one wins
    cost = {i: edges[i][3] * (unit - 2 * (exact[i] % unit)) * k + 1 for i in loose}
    n_nodes = 1 + max(max(e[0], e[1]) for e in edges)
    while True:
        arcs = []
        for i in loose:
            a, b = edges[i][0], edges[i][1]
            if flow[i] == exact[i] // unit:
                arcs.append((a, b, cost[i], i, 1))
            else:
                arcs.append((b, a, -cost[i], i, -1))
        cycle = _negative_cycle(n_nodes, arcs)
        if cycle is None:
            return
        for arc in cycle:
            flow[arc[3]] += arc[4]


def _negative_cycle(n_nodes: int, arcs: list[tuple]) -> Optional[list[tuple]]:
    """A cycle of negative total cost (Bellman-Ford from every node at once), or None."""
    dist = [0] * n_nodes
    pred: list[Optional[tuple]] = [None] * n_nodes
    last = None
    for _ in range(n_nodes):
        last = None
        for arc in arcs:
            a, b, c = arc[0], arc[1], arc[2]
            if dist[a] + c < dist[b]:
                dist[b] = dist[a] + c
                pred[b] = arc
                last = b
        if last is None:
            return None
    v = last
    for _ in range(n_nodes):          # step back into the cycle
        v = pred[v][0]
    cycle, u = [], v
    while True:
        arc = pred[u]
        cycle.append(arc)
        u = arc[0]
        if u == v:
            return cycle[::-1]
