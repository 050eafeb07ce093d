"""Exact distances from many points to long lines (a unit's boundary, thousands of vertices).

Why not ``shapely.distance(points, lines)`` alone: GEOS measures a point against every
segment of the line, and a hotline import measures 100,000 points against boundaries of 1,400
vertices on average (40,000 for a city): about a quarter of the import's Python time
(benchmarks/import_issues.py). GEOS has an indexed distance (IndexedFacetDistance) but shapely
2.2 does not expose it, and an STRtree of segments answers ``query_nearest`` no faster (its
per-point cost is the search itself). So each line is cut into chunks of a few dozen segments,
once, with their bounding boxes; a point is measured (by GEOS) against the chunk whose box is
nearest, and then only against the chunks whose box is closer than that distance. The line is
the union of its chunks, so the result is the same distance, not an estimate; numpy does the
box arithmetic for all points at once.
"""

from __future__ import annotations

import numpy as np
import shapely

# Segments per chunk: fewer means more boxes per point, more means more segments per chunk
# measured; 48 was the fastest of 24-128 on the Los Angeles councils (0.18 s against 0.46 s
# for 93,000 points).
CHUNK_SEGMENTS = 48
# Point x chunk pairs whose boxes are measured together: bounds the memory (about 64 bytes a
# pair) when many points lie in a unit with a very long boundary.
MAX_PAIRS = 1 << 20


class ChunkedLines:
    """``lines`` (LineStrings or MultiLineStrings, e.g. polygon boundaries) cut into chunks of
    ``chunk_segments`` consecutive segments (the last of a line may have fewer), for
    ``distance``. A chunk may span several parts of a line (a city's boundary can have thousands
    of parts of a few segments each: islands, slivers); it is then a MultiLineString."""

    def __init__(self, lines: np.ndarray, chunk_segments: int = CHUNK_SEGMENTS) -> None:
        parts, part_line = shapely.get_parts(lines, return_index=True)
        coords, coord_part = shapely.get_coordinates(parts, return_index=True)
        vertices = np.bincount(coord_part, minlength=len(parts))
        segments = np.maximum(vertices - 1, 0)
        # every segment (by its first vertex), line by line
        segment_part = np.repeat(np.arange(len(parts)), segments)
        segment_vertex = (np.cumsum(vertices) - vertices)[segment_part] + _positions_within(
            segments
        )
        segment_line = part_line[segment_part]
        line_segments = np.bincount(segment_line, minlength=len(lines))
        line_chunks = -(-line_segments // chunk_segments)
        line_first = np.cumsum(line_chunks) - line_chunks
        within_line = _positions_within(line_segments)
        segment_chunk = line_first[segment_line] + within_line // chunk_segments
        # a piece: a chunk's consecutive segments of one part, drawn as one LineString
        new_piece = np.ones(len(segment_chunk), dtype=bool)
        new_piece[1:] = (segment_chunk[1:] != segment_chunk[:-1]) | (
            segment_part[1:] != segment_part[:-1]
        )
        piece_first = np.flatnonzero(new_piece)
        piece_segments = np.diff(np.r_[piece_first, len(segment_chunk)])
        size = piece_segments + 1  # its vertices
        vertex = np.repeat(segment_vertex[piece_first], size) + _positions_within(size)
        pieces = shapely.linestrings(coords[vertex], indices=np.repeat(np.arange(len(size)), size))
        self.chunks = shapely.multilinestrings(pieces, indices=segment_chunk[piece_first])
        self.bounds = shapely.bounds(self.chunks)
        self.line_first = line_first
        self.line_chunks = line_chunks

    def distance(self, x: np.ndarray, y: np.ndarray, line: np.ndarray) -> np.ndarray:
        """Distance from each point (x, y) to ``lines[line]`` (NaN for an empty line)."""
        out = np.full(len(line), np.nan)
        pairs = np.cumsum(self.line_chunks[line])
        start = 0
        while start < len(line):
            # as many points as fit in MAX_PAIRS (at least one)
            bound = (pairs[start - 1] if start else 0) + MAX_PAIRS
            stop = max(int(np.searchsorted(pairs, bound, side="right")), start + 1)
            out[start:stop] = self._distance(x[start:stop], y[start:stop], line[start:stop])
            start = stop
        return out

    def _distance(self, x: np.ndarray, y: np.ndarray, line: np.ndarray) -> np.ndarray:
        out = np.full(len(line), np.nan)
        has = self.line_chunks[line] > 0
        point = np.flatnonzero(has)
        if not len(point):
            return out
        count = self.line_chunks[line[point]]
        pair_point = np.repeat(np.arange(len(point)), count)  # grouped by point, ascending
        pair_chunk = self.line_first[line[point]][pair_point] + _positions_within(count)
        px, py = x[point][pair_point], y[point][pair_point]
        box = self.bounds[pair_chunk]
        dx = np.maximum(np.maximum(box[:, 0] - px, px - box[:, 2]), 0.0)
        dy = np.maximum(np.maximum(box[:, 1] - py, py - box[:, 3]), 0.0)
        box_distance = np.hypot(dx, dy)  # no point of the chunk is nearer than this
        group_start = np.cumsum(count) - count
        nearest_box = np.minimum.reduceat(box_distance, group_start)
        ties = np.flatnonzero(box_distance == nearest_box[pair_point])
        first_tie = np.ones(len(ties), dtype=bool)
        first_tie[1:] = pair_point[ties][1:] != pair_point[ties][:-1]
        nearest_pair = ties[first_tie]  # one per point, in point order
        points = np.asarray(shapely.points(x[point], y[point]), dtype=object)
        best = shapely.distance(points, self.chunks[pair_chunk[nearest_pair]])
        # any other chunk that may hold a nearer point
        other = box_distance < best[pair_point]
        other[nearest_pair] = False
        other_pair = np.flatnonzero(other)
        if len(other_pair):
            measured = shapely.distance(
                points[pair_point[other_pair]], self.chunks[pair_chunk[other_pair]]
            )
            owner = pair_point[other_pair]  # ascending
            starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
            nearest = np.minimum.reduceat(measured, starts)
            best[owner[starts]] = np.minimum(best[owner[starts]], nearest)
        out[point] = best
        return out


def _positions_within(counts: np.ndarray) -> np.ndarray:
    """0, 1, ..., c-1 for each count c, concatenated."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
