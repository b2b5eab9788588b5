"""Compiled (numba) loops of the network engine: the nearest segment on a bucket grid, and Dijkstra.

All functions release the GIL (``nogil``), so callers run them on several threads at once (each on its
own part of the input and output); compiled code is cached next to this module (``cache=True``).

The graph is a symmetric CSR adjacency (``indptr``, ``indices``, ``weights``); a snapped point is its
edge's two end nodes with the cost from the point (its snap distance included) to each.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

JIT = {"nogil": True, "cache": True, "boundscheck": False}


def cores() -> int:
    """The cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def in_threads(run: Callable, items: Iterable, workers: int | None = None) -> list:
    """``[run(item) for item in items]`` on up to ``workers`` threads (default: :func:`cores`)."""
    items = list(items)
    workers = min(workers or cores(), len(items))
    if workers <= 1:
        return [run(item) for item in items]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, items))


@njit(**JIT)
def grouped(keys, size):
    """The indices of ``keys`` (0 .. size - 1) grouped by key, in order within a key (a counting sort):
    (pointers: size + 1, indices)."""
    pointers = np.zeros(size + 1, np.int64)
    for k in keys:
        pointers[k + 1] += 1
    for k in range(size):
        pointers[k + 1] += pointers[k]
    cursor = pointers[:-1].copy()
    order = np.empty(len(keys), np.int64)
    for i in range(len(keys)):
        order[cursor[keys[i]]] = i
        cursor[keys[i]] += 1
    return pointers, order


# --- nearest segment ------------------------------------------------------------------------------------------


@njit(**JIT)
def bucket_cells(a, b, x0, y0, cell, ncx, ncy, fill, starts, members):
    """Cells of the grid each segment ``a``-``b`` touches (the bounding boxes of its pieces of at most one
    cell long, so at most 2 x 2 cells each). ``fill=False``: count per cell into ``starts[cell + 1]``;
    ``fill=True``: write the segment indices into ``members`` at ``starts`` (consumed as a cursor)."""
    previous, current = np.full(4, -1, np.int64), np.full(4, -1, np.int64)
    for s in range(len(a)):
        ax, ay, bx, by = a[s, 0], a[s, 1], b[s, 0], b[s, 1]
        parts = max(int(np.ceil(np.hypot(bx - ax, by - ay) / cell)), 1)
        previous[:] = -1
        for p in range(parts):
            f0, f1 = p / parts, (p + 1) / parts
            px0, py0 = ax + (bx - ax) * f0, ay + (by - ay) * f0
            px1, py1 = ax + (bx - ax) * f1, ay + (by - ay) * f1
            i0 = min(max(int((min(px0, px1) - x0) / cell), 0), ncx - 1)
            i1 = min(max(int((max(px0, px1) - x0) / cell), 0), ncx - 1)
            j0 = min(max(int((min(py0, py1) - y0) / cell), 0), ncy - 1)
            j1 = min(max(int((max(py0, py1) - y0) / cell), 0), ncy - 1)
            current[:] = -1
            k = 0
            for j in range(j0, j1 + 1):
                for i in range(i0, i1 + 1):
                    c = j * ncx + i
                    current[k] = c
                    k += 1
                    if (previous == c).any():
                        continue  # taken by the previous piece
                    if fill:
                        members[starts[c]] = s
                        starts[c] += 1
                    else:
                        starts[c + 1] += 1
            previous[:] = current


@njit(**JIT)
def nearest_segment(
    xy, rows, a, b, seg_edge, seg_id, seg_along, edge_length, x0, y0, cell, ncx, ncy, starts, members, max_cells,
    out_edge, out_t, out_d, out_point,
):  # fmt: skip
    """For the points ``rows`` of ``xy``: the nearest segment (ties: lowest ``seg_id``), written as its edge
    (``seg_edge``), the fraction along the edge, the distance and the nearest point. Cells are searched in rings
    around the point's cell until no unseen segment can be nearer; nothing is written where that takes more
    than ``max_cells`` cells (far from the network) or the point is not finite."""
    for q in rows:
        x, y = xy[q, 0], xy[q, 1]
        if not (np.isfinite(x) and np.isfinite(y)):
            continue
        fx, fy = np.floor((x - x0) / cell), np.floor((y - y0) / cell)
        if abs(fx) > 1e15 or abs(fy) > 1e15:
            continue
        cx, cy = int(fx), int(fy)
        r = max(0, -cx, cx - (ncx - 1), -cy, cy - (ncy - 1))  # the first ring that touches the grid
        best, best_s, best_u = np.inf, -1, 0.0
        seen = 0
        while True:
            jlo, jhi = max(cy - r, 0), min(cy + r, ncy - 1)
            ilo, ihi = max(cx - r, 0), min(cx + r, ncx - 1)
            for j in range(jlo, jhi + 1):
                edge_row = j == cy - r or j == cy + r
                i = ilo
                while i <= ihi:
                    if not edge_row and i != cx - r and i != cx + r:
                        i = cx + r if cx + r <= ihi else ihi + 1  # inner rows: only the ring's two columns
                        continue
                    c = j * ncx + i
                    seen += 1
                    for m in range(starts[c], starts[c + 1]):
                        s = members[m]
                        ax, ay = a[s, 0], a[s, 1]
                        dx, dy = b[s, 0] - ax, b[s, 1] - ay
                        denom = dx * dx + dy * dy
                        u = 0.0
                        if denom > 0:
                            u = min(max(((x - ax) * dx + (y - ay) * dy) / denom, 0.0), 1.0)
                        d = np.hypot(ax + dx * u - x, ay + dy * u - y)
                        if d < best or (d == best and seg_id[s] < seg_id[best_s]):
                            best, best_s, best_u = d, s, u
                    i += 1
            # every unseen cell lies outside the square of rings 0..r around the point
            margin = min(
                x - (x0 + (cx - r) * cell),
                x0 + (cx + r + 1) * cell - x,
                y - (y0 + (cy - r) * cell),
                y0 + (cy + r + 1) * cell - y,
            )
            everything = cx - r <= 0 and cx + r >= ncx - 1 and cy - r <= 0 and cy + r >= ncy - 1
            if best < margin or everything:
                ax, ay = a[best_s, 0], a[best_s, 1]
                px, py = ax + (b[best_s, 0] - ax) * best_u, ay + (b[best_s, 1] - ay) * best_u
                e = seg_edge[best_s]
                metres = seg_along[best_s] + np.hypot(px - ax, py - ay)
                out_edge[q], out_d[q], out_point[q, 0], out_point[q, 1] = e, best, px, py
                out_t[q] = min(max(metres / edge_length[e], 0.0), 1.0)
                break
            if seen > max_cells:
                break
            r += 1


# --- Dijkstra -------------------------------------------------------------------------------------------------


@njit(inline="always", **JIT)
def _push(heap_d, heap_n, size, d, n):
    """Push (d, n) on the binary heap (room for it is the caller's); returns the new size."""
    i = size
    while i > 0:
        parent = (i - 1) >> 1
        if heap_d[parent] <= d:
            break
        heap_d[i], heap_n[i] = heap_d[parent], heap_n[parent]
        i = parent
    heap_d[i], heap_n[i] = d, n
    return size + 1


@njit(inline="always", **JIT)
def _pop(heap_d, heap_n, size):
    """Remove the smallest entry; returns it and the new size."""
    d, n = heap_d[0], heap_n[0]
    size -= 1
    last_d, last_n = heap_d[size], heap_n[size]
    i = 0
    while True:
        child = 2 * i + 1
        if child >= size:
            break
        if child + 1 < size and heap_d[child + 1] < heap_d[child]:
            child += 1
        if heap_d[child] >= last_d:
            break
        heap_d[i], heap_n[i] = heap_d[child], heap_n[child]
        i = child
    if size > 0:
        heap_d[i], heap_n[i] = last_d, last_n
    return d, n, size


@njit(**JIT)
def nearest_source(indptr, indices, weights, seed_node, seed_cost, seed_origin, dist, origin):
    """Multi-source Dijkstra over the whole graph: per node the cost from the nearest seed (``dist``, inf when
    unreachable) and that seed's ``seed_origin`` (``origin``, -1; ties: the lowest). Filled in place."""
    dist[:] = np.inf
    origin[:] = -1
    # every push follows a lowered cost: at most one per seed and one per arc
    heap_d = np.empty(len(seed_node) + len(indices), np.float64)
    heap_n = np.empty(len(seed_node) + len(indices), np.int64)
    size = 0
    for k in range(len(seed_node)):
        n, d = seed_node[k], seed_cost[k]
        if d < dist[n] or (d == dist[n] and seed_origin[k] < origin[n]):
            dist[n], origin[n] = d, seed_origin[k]
            size = _push(heap_d, heap_n, size, d, n)
    _spread(indptr, indices, weights, dist, origin, heap_d, heap_n, size, -1.0)


@njit(**JIT)
def nearest_beyond(indptr, indices, weights, limit, dist, origin):
    """:func:`nearest_source` completed beyond ``limit``: ``dist`` and ``origin`` hold the result for the nodes
    within the limit (inf and -1 beyond it); the nodes beyond are reached by Dijkstra from the nodes within
    that border on them. Filled in place."""
    n_nodes = len(indptr) - 1
    heap_d = np.empty(n_nodes + len(indices), np.float64)
    heap_n = np.empty(n_nodes + len(indices), np.int64)
    size = 0
    for n in range(n_nodes):
        if dist[n] <= limit:
            for k in range(indptr[n], indptr[n + 1]):
                if dist[indices[k]] > limit:
                    size = _push(heap_d, heap_n, size, dist[n], n)
                    break
    _spread(indptr, indices, weights, dist, origin, heap_d, heap_n, size, limit)


@njit(inline="always", **JIT)
def _spread(indptr, indices, weights, dist, origin, heap_d, heap_n, size, fixed):
    """Dijkstra from the heap's nodes; nodes whose cost is at most ``fixed`` are final and left alone."""
    while size > 0:
        d, n, size = _pop(heap_d, heap_n, size)
        if d > dist[n]:
            continue
        for k in range(indptr[n], indptr[n + 1]):
            m = indices[k]
            if dist[m] <= fixed:
                continue
            nd = d + weights[k]
            if nd < dist[m]:
                dist[m], origin[m] = nd, origin[n]
                size = _push(heap_d, heap_n, size, nd, m)
            elif nd == dist[m] and origin[n] < origin[m]:
                origin[m] = origin[n]  # not settled yet (its cost is above d): its successors get this origin


@njit(**JIT)
def nearest_lookup(dist, origin, edge_cost, la, lb, loff_a, loff_b, ledge, lt, lsnap, st, ssnap, by_edge_ptr, by_edge):
    """Per location: the cost to the nearest source via its edge's two nodes (``dist``/``origin`` from
    :func:`nearest_source`), or straight along the edge to a source on the same edge when that is shorter
    (ties: the lowest source index). Returns (distance, source index or -1)."""
    n = len(la)
    out_d, out_s = np.empty(n, np.float64), np.empty(n, np.int64)
    for q in range(n):
        via_a, via_b = loff_a[q] + dist[la[q]], loff_b[q] + dist[lb[q]]
        if via_a < via_b or (via_a == via_b and origin[la[q]] <= origin[lb[q]]):
            best, who = via_a, origin[la[q]]
        else:
            best, who = via_b, origin[lb[q]]
        e = ledge[q]
        direct, direct_s = np.inf, -1
        for k in range(by_edge_ptr[e], by_edge_ptr[e + 1]):
            s = by_edge[k]
            d = lsnap[q] + abs(lt[q] - st[s]) * edge_cost[e] + ssnap[s]
            if d < direct or (d == direct and s < direct_s):
                direct, direct_s = d, s
        if direct < best:
            best, who = direct, direct_s
        if not np.isfinite(best):
            who = -1
        out_d[q], out_s[q] = best, who
    return out_d, out_s


@njit(**JIT)
def count_within(
    indptr,
    indices,
    weights,
    edge_cost,
    sources,
    s_u,
    s_v,
    s_off_u,
    s_off_v,
    s_edge,
    s_t,
    s_snap,
    first_ptr,
    second_ptr,
    second,
    t_a,
    t_b,
    t_off_a,
    t_off_b,
    t_edge,
    t_t,
    t_snap,
    t_column,
    by_edge_ptr,
    by_edge,
    radii,
    sources_are_locations,
    out,
    s_index,
    near_d,
    near_o,
):
    """Count, for the ``sources`` (indices into the ``s_`` arrays), the targets within each of ``radii``
    along the network: one Dijkstra per source bounded by the largest radius, from its edge's two nodes.

    A target's cost is the least of via its edge's two nodes and, on the source's own edge, straight along
    it; each (source, target) pair counts once. The targets are sorted by their edge's first node
    (``first_ptr``: CSR by node of positions) and found from it; those whose first node is not reached, from
    their second (``second_ptr``, ``second``: CSR by node of the targets); on the source's edge: ``by_edge``.
    (A target's two nodes are neighbours in the graph: a second node next to no unreached node is skipped.)
    Counts go to ``out[location, column + radius]``: the source's row and the target's ``t_column`` when
    ``sources_are_locations``, else the target's row and column 0 (``out`` then holds one category).

    Unless the sources are locations, ``near_d`` and ``near_o`` (per node) are lowered to the cost from the
    nearest source and its ``s_index`` (ties: the lowest): :func:`nearest_source` for the nodes within the
    largest radius (inf and -1 beyond it, see :func:`nearest_beyond`)."""
    n_nodes = len(indptr) - 1
    limit = radii[-1]
    dist = np.full(n_nodes, np.inf)
    visited = np.empty(n_nodes, np.int64)
    # every push follows a lowered cost: at most one per seed (two) and one per arc
    heap_d, heap_n = np.empty(len(indices) + 2, np.float64), np.empty(len(indices) + 2, np.int64)
    for s in sources:
        n_visited, size = 0, 0
        for side in range(2):
            n, d = (s_u[s], s_off_u[s]) if side == 0 else (s_v[s], s_off_v[s])
            if d <= limit and d < dist[n]:
                if dist[n] == np.inf:
                    visited[n_visited] = n
                    n_visited += 1
                dist[n] = d
                size = _push(heap_d, heap_n, size, d, n)
        while size > 0:
            d, n, size = _pop(heap_d, heap_n, size)
            if d > dist[n]:
                continue
            for k in range(indptr[n], indptr[n + 1]):
                m = indices[k]
                nd = d + weights[k]
                if nd <= limit and nd < dist[m]:
                    if dist[m] == np.inf:
                        visited[n_visited] = m
                        n_visited += 1
                    dist[m] = nd
                    size = _push(heap_d, heap_n, size, nd, m)
        if not sources_are_locations:
            who = s_index[s]
            for v in range(n_visited):
                n = visited[v]
                if dist[n] < near_d[n] or (dist[n] == near_d[n] and who < near_o[n]):
                    near_d[n], near_o[n] = dist[n], who
        own = s_edge[s]
        for v in range(n_visited):
            n = visited[v]
            here = dist[n]
            for q in range(first_ptr[n], first_ptr[n + 1]):  # the targets whose edge starts at n
                if t_edge[q] != own:  # (on the source's own edge: below)
                    d = min(t_off_a[q] + here, t_off_b[q] + dist[t_b[q]])
                    _add(out, radii, d, s, q, t_column, sources_are_locations)
            # the targets whose edge ends at n and starts at a node not reached, a neighbour of n
            border = False
            for k in range(indptr[n], indptr[n + 1]):
                if dist[indices[k]] > limit:
                    border = True
                    break
            if border:
                for k in range(second_ptr[n], second_ptr[n + 1]):
                    q = second[k]
                    if t_edge[q] != own and dist[t_a[q]] > limit:
                        _add(out, radii, t_off_b[q] + here, s, q, t_column, sources_are_locations)
        for k in range(by_edge_ptr[own], by_edge_ptr[own + 1]):
            q = by_edge[k]
            d = s_snap[s] + abs(s_t[s] - t_t[q]) * edge_cost[own] + t_snap[q]
            d = min(d, t_off_a[q] + dist[t_a[q]], t_off_b[q] + dist[t_b[q]])
            _add(out, radii, d, s, q, t_column, sources_are_locations)
        for v in range(n_visited):
            dist[visited[v]] = np.inf


@njit(inline="always", **JIT)
def _add(out, radii, d, s, q, t_column, sources_are_locations):
    if sources_are_locations:
        row, column = s, t_column[q]
    else:
        row, column = q, 0
    if d <= radii[-1]:
        for r in range(len(radii)):
            out[row, column + r] += d <= radii[r]  # no branch per radius
