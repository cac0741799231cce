"""The Parquet tables that trackrec writes: column names, Arrow types, units and meaning.

Every table file carries two key-value metadata entries, ``trackrec.schema_version``
(:data:`SCHEMA_VERSION`) and ``trackrec.table`` (the table name); readers refuse a file whose
major version differs (:func:`trackrec.io.parquet.read_table`). A minor version bump adds
optional columns only, so old readers keep working. Files also record ``trackrec.version``
and ``trackrec.config`` (:func:`trackrec.io.parquet.to_arrow`).

Tables defined here:

- ``hits``: one row per hit of an event, from ``trackrec ingest``. The ``cells``,
  ``geometry`` and ``truth`` column groups are optional: present when the cells file, the
  detectors file, or the truth and particles files were given.
- ``particles``: one row per particle of a training event (empty, with the columns, for a
  test event).
- ``tracks``: the TrackML submission shape (hit_id, track_id), written by track builders
  and read by the metrics.
- ``filtered``: the hits the noise filter keeps, with their noise score.
- ``fitted``: one row per track with the Kalman fit's perigee parameters, their
  uncertainties and chi2, and the matched particle's true parameters when truth exists.
- ``graph``: one row per edge of an event's hit graph (``trackrec build-graph``), read by
  the GNN stages; the ``truth`` group is present when the hits carry truth.
- ``edge_scores``: an edge classifier's score per graph edge.
- ``hit_condensation``: the object-condensation network's coordinates and beta per hit.

:func:`schema_markdown` renders these definitions as markdown tables for the README.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

SCHEMA_VERSION = "1.0"
"""Version of the table definitions; stored as ``trackrec.schema_version`` in each file."""

METADATA_VERSION_KEY = "trackrec.schema_version"
METADATA_TABLE_KEY = "trackrec.table"


@dataclass(frozen=True)
class Column:
    """One column of a table: name, Arrow type, unit and meaning."""

    name: str
    type: pa.DataType
    unit: str
    description: str
    group: str = "required"
    """``required``, or the optional group the column belongs to (``cells`` ...)."""

    @property
    def required(self) -> bool:
        return self.group == "required"

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(self.type.to_pandas_dtype())


@dataclass(frozen=True)
class TableSchema:
    """The columns of one table, in the order they are written."""

    name: str
    description: str
    columns: tuple[Column, ...]

    def column(self, name: str) -> Column:
        for col in self.columns:
            if col.name == name:
                return col
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [col.name for col in self.columns]

    @property
    def required_names(self) -> list[str]:
        return [col.name for col in self.columns if col.required]

    def group_names(self, group: str) -> list[str]:
        return [col.name for col in self.columns if col.group == group]


_F32 = pa.float32()
_I64 = pa.int64()

HITS = TableSchema(
    "hits",
    "One row per hit (`hits/<event>.parquet`), in the order of the TrackML hits file.",
    (
        Column("hit_id", _I64, "", "hit identifier, unique within the event"),
        Column("x", _F32, "mm", "global hit position x"),
        Column("y", _F32, "mm", "global hit position y"),
        Column("z", _F32, "mm", "global hit position z (along the beam)"),
        Column("r", _F32, "mm", "transverse radius sqrt(x² + y²)"),
        Column("phi", _F32, "rad", "azimuth atan2(y, x), in [-π, π]"),
        Column("eta", _F32, "", "pseudorapidity of the hit position seen from the origin, "
               "asinh(z / r)"),
        Column("volume_id", pa.int16(), "", "detector volume"),
        Column("layer_id", pa.int16(), "", "layer within the volume"),
        Column("module_id", pa.int32(), "", "module within the layer"),
        # cells: per-hit cluster features from the cells file
        Column("n_cells", pa.int32(), "", "number of cells (pixels/strips) of the hit's cluster",
               "cells"),
        Column("charge", _F32, "", "summed cell value (deposited charge/energy fraction)",
               "cells"),
        Column("extent_u", pa.int32(), "cells", "cluster extent along the module's u axis: "
               "max(ch0) − min(ch0) + 1 (0 for a hit without cells)", "cells"),
        Column("extent_v", pa.int32(), "cells", "cluster extent along the module's v axis: "
               "max(ch1) − min(ch1) + 1 (0 for a hit without cells)", "cells"),
        # geometry: the hit's module from detectors.csv
        *(
            Column(f"rot_{g}{axis}", _F32, "", f"module rotation matrix element: global {g} "
                   f"component of the local {axis} axis", "geometry")
            for g in "xyz" for axis in "uvw"
        ),
        Column("pitch_u", _F32, "mm", "cell size along u", "geometry"),
        Column("pitch_v", _F32, "mm", "cell size along v", "geometry"),
        Column("thickness", _F32, "mm", "module thickness (module_t)", "geometry"),
        # truth: from the truth and particles files (training events only)
        Column("particle_id", _I64, "", "true particle; 0 for a noise hit", "truth"),
        Column("weight", _F32, "", "TrackML score weight of the hit; 0 for noise", "truth"),
        Column("tpx", _F32, "GeV", "true particle momentum x at the hit; NaN for noise", "truth"),
        Column("tpy", _F32, "GeV", "true particle momentum y at the hit; NaN for noise", "truth"),
        Column("tpz", _F32, "GeV", "true particle momentum z at the hit; NaN for noise", "truth"),
        Column("tpt", _F32, "GeV", "true transverse momentum at the hit; NaN for noise", "truth"),
        Column("teta", _F32, "", "pseudorapidity of the true momentum at the hit; NaN for noise",
               "truth"),
        Column("q", pa.int8(), "e", "particle charge; 0 for noise", "truth"),
        Column("nhits", pa.int32(), "", "particle's number of hits (particles file); 0 for noise",
               "truth"),
        Column("vr", _F32, "mm", "particle production vertex radius; NaN for noise", "truth"),
        Column("vz", _F32, "mm", "particle production vertex z; NaN for noise", "truth"),
        Column("pt", _F32, "GeV", "particle transverse momentum at the vertex; NaN for noise",
               "truth"),
        Column("noise", pa.bool_(), "", "true for a noise hit (particle_id == 0)", "truth"),
    ),
)

PARTICLES = TableSchema(
    "particles",
    "One row per particle (`particles/<event>.parquet`); empty for a test event.",
    (
        Column("particle_id", _I64, "", "particle identifier"),
        Column("particle_type", pa.int32(), "", "PDG code (absent in some TrackML releases)",
               "type"),
        Column("vx", _F32, "mm", "production vertex x"),
        Column("vy", _F32, "mm", "production vertex y"),
        Column("vz", _F32, "mm", "production vertex z"),
        Column("px", _F32, "GeV", "momentum x at the vertex"),
        Column("py", _F32, "GeV", "momentum y at the vertex"),
        Column("pz", _F32, "GeV", "momentum z at the vertex"),
        Column("q", pa.int8(), "e", "charge"),
        Column("nhits", pa.int32(), "", "number of hits (particles file)"),
        Column("pt", _F32, "GeV", "transverse momentum sqrt(px² + py²)"),
        Column("eta", _F32, "", "pseudorapidity of the momentum, asinh(pz / pt)"),
        Column("vr", _F32, "mm", "vertex radius sqrt(vx² + vy²)"),
        Column("n_layers", pa.int32(), "", "distinct (volume_id, layer_id) pairs among the "
               "particle's hits in the truth file"),
        Column("reconstructable", pa.bool_(), "", "n_layers ≥ 3"),
    ),
)

TRACKS = TableSchema(
    "tracks",
    "Reconstructed tracks in the TrackML submission shape (`tracks/<method>/<event>.parquet`).",
    (
        Column("hit_id", _I64, "", "hit identifier"),
        Column("track_id", _I64, "", "track the hit is assigned to"),
    ),
)

_FIT_PARAMETERS = (
    ("d0", "mm", "transverse impact parameter; the perigee point is (−d0 sin φ, d0 cos φ)"),
    ("z0", "mm", "z of the perigee point"),
    ("phi", "rad", "azimuth of the direction at the perigee, in [−π, π]"),
    ("theta", "rad", "polar angle of the direction"),
    ("qopt", "1/GeV", "charge over transverse momentum q/pT"),
)

FITTED = TableSchema(
    "fitted",
    "Kalman-fitted perigee parameters (w.r.t. the beam line) of every track with at least 3 hits"
    " (`fitted/<method>/<event>.parquet`); NaN where the fit failed.",
    (
        Column("track_id", _I64, "", "track identifier of the tracks table"),
        Column("n_hits", pa.int32(), "", "hits in the track"),
        *(Column(name, pa.float64(), unit, meaning) for name, unit, meaning in _FIT_PARAMETERS),
        *(Column(f"sigma_{name}", pa.float64(), unit, f"uncertainty of {name} (square root of the "
                 "covariance's diagonal)") for name, unit, _ in _FIT_PARAMETERS),
        Column("chi2", pa.float64(), "", "chi-square of the fit"),
        Column("ndf", pa.int32(), "", "degrees of freedom: 2 n_hits − 5 (0 when the fit failed)"),
        Column("particle_id", _I64, "", "the track's majority particle (more than half of its hits);"
               " 0 when none", "truth"),
        *(Column(f"true_{name}", pa.float64(), unit, f"{name} of the matched particle at its "
                 "production vertex; NaN when none", "truth")
          for name, unit, _ in _FIT_PARAMETERS),
        Column("true_pt", pa.float64(), "GeV", "matched particle's pT; NaN when none", "truth"),
        Column("true_eta", pa.float64(), "", "matched particle's eta; NaN when none", "truth"),
    ),
)


GRAPH = TableSchema(
    "graph",
    "One row per edge of an event's hit graph (`graphs/<event>.parquet`), from "
    "`trackrec build-graph`. Each undirected edge appears once, oriented from the hit nearer "
    "the origin (`src`) to the farther one (`dst`); differences are dst minus src.",
    (
        Column("src", _I64, "", "row position of the inner hit in the event's hits table"),
        Column("dst", _I64, "", "row position of the outer hit in the event's hits table"),
        Column("src_hit_id", _I64, "", "hit_id of the inner hit"),
        Column("dst_hit_id", _I64, "", "hit_id of the outer hit"),
        Column("dr", _F32, "mm", "r(dst) − r(src)"),
        Column("dphi", _F32, "rad", "phi(dst) − phi(src), wrapped to [−π, π)"),
        Column("dz", _F32, "mm", "z(dst) − z(src)"),
        Column("deta", _F32, "", "eta(dst) − eta(src)"),
        Column("latent_distance", _F32, "", "Euclidean distance of the two hits in the learned "
               "embedding; NaN for a geometric graph"),
        Column("is_true", pa.bool_(), "", "both hits belong to the same non-noise particle",
               "truth"),
    ),
)

MAX_CONDENSATION_DIMS = 16
"""Most clustering-space dimensions a ``hit_condensation`` table holds (``c0`` .. ``c15``)."""

EDGE_SCORES = TableSchema(
    "edge_scores",
    "One row per graph edge, in the graph table's order (`scores/<model>/<event>.parquet` of "
    "an edge classifier).",
    (
        Column("src", _I64, "", "row position of the edge's source hit in the hits table"),
        Column("dst", _I64, "", "row position of the edge's target hit in the hits table"),
        Column("score", _F32, "", "edge classifier output in [0, 1]: how likely both hits "
               "belong to one particle"),
    ),
)

HIT_CONDENSATION = TableSchema(
    "hit_condensation",
    "One row per hit, in the hits table's order (`scores/condensation/<event>.parquet`): "
    "the object-condensation network's clustering coordinates and strength.",
    (
        Column("hit_id", _I64, "", "hit identifier"),
        Column("beta", _F32, "", "condensation strength in (0, 1): high for the hit that "
               "represents its track, low for noise"),
        *(
            Column(f"c{i}", _F32, "", f"clustering-space coordinate {i} (as many as the "
                   "model has, from c0)", "coordinates")
            for i in range(MAX_CONDENSATION_DIMS)
        ),
    ),
)

FILTERED = TableSchema(
    "filtered",
    "The hits kept by the noise filter (`filtered/<event>.parquet`): the hit table's columns "
    "and the hit's noise score.",
    (
        *HITS.columns,
        Column("noise_score", _F32, "", "noise filter's probability that the hit is noise "
               "(hits above the model's threshold are removed; 0 with the filter off)"),
    ),
)

TABLES: dict[str, TableSchema] = {
    t.name: t for t in (HITS, PARTICLES, TRACKS, FILTERED, FITTED, GRAPH, EDGE_SCORES, HIT_CONDENSATION)
}



def get_schema(table: str) -> TableSchema:
    """The definition of ``table``; ``KeyError`` listing the known tables otherwise."""
    try:
        return TABLES[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; known tables: {', '.join(TABLES)}") from None


def _type_name(t: pa.DataType) -> str:
    names = {pa.bool_(): "bool", pa.float32(): "float32", pa.float64(): "float64"}
    return names.get(t, str(t))


def schema_markdown(tables: list[str] | None = None) -> str:
    """The table definitions as markdown (one heading and one table per table)."""
    out: list[str] = []
    for name in tables or list(TABLES):
        schema = get_schema(name)
        out.append(f"#### `{schema.name}`\n\n{schema.description}\n")
        out.append("| column | type | unit | presence | meaning |")
        out.append("|---|---|---|---|---|")
        for col in schema.columns:
            group = "required" if col.required else f"optional: {col.group}"
            out.append(f"| `{col.name}` | {_type_name(col.type)} | {col.unit} | {group} | "
                       f"{col.description} |")
        out.append("")
    return "\n".join(out)


def schema_document() -> str:
    """``docs/schema.md``: the version, the metadata contract and every table."""
    return (
        f"# Parquet table schemas (version {SCHEMA_VERSION})\n\n"
        "Generated from `trackrec/io/schema.py` (`schema_document()`; a test checks that this"
        " file is current). Every Parquet file trackrec writes stores"
        " `trackrec.schema_version` and `trackrec.table` in its key-value metadata; readers"
        " refuse a file of another table or another major version. It also stores"
        " `trackrec.version`, the version of trackrec that wrote it, and, for the files of"
        " the workflow's commands, `trackrec.config`: the settings the command ran with"
        " (its config section), as a JSON object.\n\n"
        f"{schema_markdown()}\n"
    )
