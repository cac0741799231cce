# Shared paths and input functions. The logic lives in trackrec.plan (unit-tested).
import json
import os
import shlex
import sys

from trackrec.plan import (
    cli_options,
    event_number,
    external_events,
    external_methods,
    external_track_file,
    gpu_resources,
    is_multi_event,
    make_plan,
    trackml_detectors_file,
)
from trackrec.config import load_schema, reserved_method_names
from trackrec.errors import TrackrecError
from snakemake.logging import logger
from trackrec.noise.stage import noise_model_file, relevant_config

def gnn_runnable_methods(config, plan, pretrained):
    """tracking.methods, less the GNN methods when there are no GNN models to run them with
    (no training events and no shipped models; said on stderr); a GNN method whose model is
    not in gnn.models is a config error."""
    needs = {"gnn_ec": config["tracking"]["gnn_ec"]["classifier"], "gnn_oc": "condensation"}
    methods = config["tracking"]["methods"]
    for method in methods:
        if method in needs and needs[method] not in config["gnn"]["models"]:
            raise SystemExit(f"trackrec: error: tracking.methods has {method}, which needs "
                             f"{needs[method]} in gnn.models")
    if pretrained or plan.splits["train"]:
        return list(methods)
    dropped = [m for m in methods if m in needs]
    if dropped:
        print(f"trackrec: no training events and models.source is train: "
              f"{', '.join(dropped)} left out", file=sys.stderr)
    return [m for m in methods if m not in needs]


RUN = f"{config['results']}/{config['run']}"
SIMULATED = f"{RUN}/simulated"
try:  # a config or file problem (no test events, no data folder): one line, before any job
    PLAN = make_plan(config["data"])
except TrackrecError as err:
    raise SystemExit(f"trackrec: error: {err}") from None
TEST_EVENTS = PLAN.splits["test"]
SCORED_EVENTS = PLAN.scored_test_events  # test events with truth
DETECTORS_FILE = trackml_detectors_file(config["data"]) if PLAN.trackml_files else None
TRACKML_DETECTORS = None if DETECTORS_FILE is None else str(DETECTORS_FILE)
METHODS = config["tracking"]["methods"]
PRETRAINED_MODELS = config["models"]["source"] == "pretrained"
METHODS = gnn_runnable_methods(config, PLAN, PRETRAINED_MODELS)
PRETRAINED_DIR = os.path.join(workflow.basedir, config["models"]["pretrained_dir"])
if config["noise_filter"]["model"] is False:  # YAML's bare `off`
    config["noise_filter"]["model"] = "off"
NOISE_FILTER_ON = config["noise_filter"]["model"] != "off"
NOISE_MODEL_FILE = noise_model_file(f"{RUN}/models", config["noise_filter"]["model"])  # None: off/oracle
if NOISE_MODEL_FILE and not PRETRAINED_MODELS and not PLAN.splits["train"]:
    raise SystemExit(
        f"trackrec: error: noise_filter.model {config['noise_filter']['model']} is trained on the"
        " training events but data.split gives none; use models.source: pretrained (the shipped"
        " model) or noise_filter.model: off"
    )


wildcard_constraints:
    event=r"event\d{9}",
    method=r"[a-z0-9_]+",


# External methods: tracks made by other programs (tracking.external). Only the test events
# whose tracks exist now are scheduled (events missing are failed events of the report), so
# a tracker that skipped an event never makes Snakemake refuse the whole run.
try:
    EXTERNAL = external_methods(
        config["tracking"],
        reserved_method_names(load_schema(workflow.source_path("../workflow/schemas/config.schema.yaml"))),
    )
    EXTERNAL_EVENTS = {m: external_events(m, p, TEST_EVENTS) for m, p in EXTERNAL.items()}
except TrackrecError as err:  # a config or file problem: one line, before any job
    raise SystemExit(f"trackrec: error: {err}") from None


def benchmark_path(stage):
    return f"{RUN}/benchmarks/{stage}/{{event}}.tsv"


def log_path(stage):
    return f"{RUN}/logs/{stage}/{{event}}.log"


def get_raw_event(wildcards):
    """The event's input files: simulated, or from data.trackml_dir (with detectors if known)."""
    event = wildcards.event
    if PLAN.source_of[event] == "simulate":
        files = {p: f"{SIMULATED}/{event}-{p}.csv.gz" for p in ("hits", "cells", "particles", "truth")}
        files["detectors"] = f"{SIMULATED}/detectors.csv.gz"
        return files
    # from the one listing of data.trackml_dir made by the plan: no file lookups per job
    files = {part: str(path) for part, path in PLAN.trackml_files[event].items()}
    if TRACKML_DETECTORS is not None:
        files["detectors"] = TRACKML_DETECTORS
    return files


def get_output_folder(wildcards, output):
    """The folder of a rule's first output (for commands that write several files there)."""
    return os.path.dirname(output[0])


def get_event_prefix(wildcards):
    return get_raw_event(wildcards)["hits"].rsplit("-hits.csv", 1)[0]


def get_ingest_options(wildcards):
    detectors = get_raw_event(wildcards).get("detectors")
    return f"--detectors {shlex.quote(detectors)}" if detectors else ""


def get_simulate_options(wildcards):
    sim = config["data"]["simulate"]
    event_id = event_number(wildcards.event)
    return f"--first-event-id {event_id} --pileup {sim['pileup']} --seed {sim['seed']}"


def get_method_options(method):
    def options(wildcards):
        return cli_options(config["tracking"][method])

    return options


def get_metrics_options(wildcards):
    return cli_options(config["metrics"])


def scored_external_pairs():
    """``method/event`` of every external method's scored test event with tracks."""
    return [f"{m}/{e}" for m, events in EXTERNAL_EVENTS.items() for e in events if e in SCORED_EVENTS]


def get_metrics_files(wildcards):
    files = expand(f"{RUN}/metrics/{{method}}/{{event}}.json", method=METHODS, event=SCORED_EVENTS)
    return files + expand(f"{RUN}/metrics/{{pair}}.json", pair=scored_external_pairs())


def get_external_tracks(wildcards):
    """The external method's submission file for the event."""
    return external_track_file(EXTERNAL[wildcards.external_method], wildcards.event)


def get_external_options(wildcards):
    """``--event N`` when the external method has one file for all events."""
    pattern = EXTERNAL[wildcards.external_method]
    return f"--event {event_number(wildcards.event)}" if is_multi_event(pattern) else ""


def get_benchmark_files(wildcards):
    """Benchmarks of every per-event job the report summarises."""
    files = expand(benchmark_path("ingest"), event=PLAN.events)
    files += expand(benchmark_path("simulate_event"), event=PLAN.events_from("simulate"))
    for method in METHODS:
        files += expand(benchmark_path(f"track_{method}"), event=TEST_EVENTS)
    files += expand(
        benchmark_path("evaluate"), event=[f"{m}/{e}" for m in METHODS for e in SCORED_EVENTS]
    )
    imported = [f"{m}/{e}" for m, events in EXTERNAL_EVENTS.items() for e in events]
    files += expand(benchmark_path("import_tracks"), event=imported)
    files += expand(benchmark_path("evaluate"), event=scored_external_pairs())
    if NOISE_FILTER_ON:
        files += expand(benchmark_path("filter_noise"), event=TEST_EVENTS)
    files += get_chain_benchmark_files()
    return files


def get_report_sections(wildcards):
    """Report section files of the stages (see trackrec.report.sections); add yours here.

    One for each stage summary the run makes (the conditions of get_final_outputs,
    get_graph_outputs and get_gnn_outputs), written by the report_section rule.
    """
    kinds = ["fit"] if SCORED_EVENTS else []
    if SCORED_EVENTS and (PRETRAINED_MODELS or PLAN.splits["train"]):
        kinds.append("graph")
        if GNN["models"]:
            kinds.append("models")
    sections = expand(f"{RUN}/report/sections/{{kind}}.json", kind=kinds)
    return sections + get_track_building_sections(wildcards)


def get_section_summary(wildcards):
    """The stage summary JSON a report section is made from (rule report_section)."""
    return {
        "fit": f"{RUN}/report/fit/fit_summary.json",
        "graph": f"{RUN}/report/graph/summary.json",
        "models": f"{RUN}/report/models.json",
    }[wildcards.section_kind]


def get_section_images(wildcards):
    """The stage's plots shown in its section (GNN training curves: models trained here)."""
    if wildcards.section_kind == "fit":
        return [f"{RUN}/report/fit/fit_resolution_vs_{v}.png" for v in ("pt", "eta")]
    if wildcards.section_kind == "graph":
        return [f"{RUN}/report/graph/segment50_vs_edges.png"]
    if PRETRAINED_MODELS:
        return []
    return expand(f"{RUN}/models/gnn_{{model}}_curve.png", model=GNN["models"])


def get_report_section_options(wildcards, input):
    """``--section FILE ...`` for the report's section inputs (nothing when there are none)."""
    files = list(input.sections)
    return " ".join(["--section", *map(shlex.quote, files)]) if files else ""


def get_plan_config(wildcards):
    """The config sections that decide a run's plan, as JSON for ``trackrec plan``."""
    sections = {
        "run": config["run"],
        "data": config["data"],
        "metrics": config["metrics"],
        "methods": METHODS + list(EXTERNAL),
    }
    return json.dumps(sections, sort_keys=True)


def get_fit_inputs(wildcards):
    """Hits, particles and tracks of a method's event, and the detector description if known."""
    files = {
        "hits": f"{RUN}/hits/{wildcards.event}.parquet",
        "particles": f"{RUN}/particles/{wildcards.event}.parquet",
        "tracks": f"{RUN}/tracks/{wildcards.method}/{wildcards.event}.parquet",
    }
    detectors = get_raw_event(wildcards).get("detectors")
    if detectors:
        files["detectors"] = detectors
    return files


def get_fit_options(wildcards, input):
    detectors = f"--detectors {shlex.quote(input.detectors)}" if "detectors" in input.keys() else ""
    return f"{detectors} {cli_options(config['kalman']['fit'])}"


def get_ckf_inputs(wildcards):
    """The event's hits, and the detector description if known (layer surfaces)."""
    files = {"hits": f"{RUN}/hits/{wildcards.event}.parquet"}
    detectors = get_raw_event(wildcards).get("detectors")
    if detectors:
        files["detectors"] = detectors
    return files


def get_ckf_options(wildcards, input):
    detectors = f"--detectors {shlex.quote(input.detectors)}" if "detectors" in input.keys() else ""
    return f"{detectors} {cli_options(config['tracking']['ckf'])}"


def get_fitted_files(wildcards):
    """Fitted tracks of every method (and external method) on the scored test events."""
    files = expand(f"{RUN}/fitted/{{method}}/{{event}}.parquet", method=METHODS, event=SCORED_EVENTS)
    return files + expand(f"{RUN}/fitted/{{pair}}.parquet", pair=scored_external_pairs())


def noise_provenance_file():
    return os.path.splitext(NOISE_MODEL_FILE)[0] + ".json"


def get_noise_config_json(wildcards):
    """The settings of noise_filter that a model depends on, as JSON for --config."""
    return json.dumps(relevant_config(config["noise_filter"]), sort_keys=True)


def get_data_config_json(wildcards):
    return json.dumps(config["data"], sort_keys=True)


def get_noise_model_option(wildcards):
    return f"--model {shlex.quote(NOISE_MODEL_FILE)}" if NOISE_MODEL_FILE else ""


def get_noise_filter_inputs(wildcards):
    """The event's hits and particles, and the noise model when the filter uses one."""
    inputs = {
        "hits": f"{RUN}/hits/{wildcards.event}.parquet",
        "particles": f"{RUN}/particles/{wildcards.event}.parquet",
    }
    if NOISE_MODEL_FILE:
        inputs["model"] = NOISE_MODEL_FILE
    return inputs


def get_noise_report_inputs(wildcards):
    """Noise-filter metrics and score histograms of the scored test events (and the model)."""
    inputs = {
        "metrics": expand(f"{RUN}/noise_filter/metrics/{{event}}.json", event=SCORED_EVENTS),
        "histograms": expand(f"{RUN}/noise_filter/histograms/{{event}}.json", event=SCORED_EVENTS),
    }
    if NOISE_MODEL_FILE:
        inputs["model"] = NOISE_MODEL_FILE
    return inputs


def get_final_outputs(wildcards):
    """Hit tables of every event, tracks of every test event, and the report of the scored ones."""
    outputs = [f"{RUN}/plan.json"]
    outputs += expand(f"{RUN}/hits/{{event}}.parquet", event=PLAN.events)
    outputs += expand(f"{RUN}/tracks/{{method}}/{{event}}.parquet", method=METHODS, event=TEST_EVENTS)
    outputs += [f"{RUN}/tracks/{m}/{e}.parquet" for m, events in EXTERNAL_EVENTS.items() for e in events]
    outputs += expand(f"{RUN}/fitted/{{method}}/{{event}}.parquet", method=METHODS, event=TEST_EVENTS)
    outputs += [f"{RUN}/fitted/{m}/{e}.parquet" for m, events in EXTERNAL_EVENTS.items() for e in events]
    if SCORED_EVENTS:
        outputs += [f"{RUN}/report/summary.json", f"{RUN}/report/report.html"]
        outputs += [f"{RUN}/report/fit/fit_summary.json"]
    outputs += get_graph_outputs()
    outputs += get_gnn_outputs()
    if NOISE_FILTER_ON:  # off: every stage reads the hit tables, nothing to filter or report
        outputs += expand(f"{RUN}/filtered/{{event}}.parquet", event=TEST_EVENTS)
        if SCORED_EVENTS:
            outputs += [f"{RUN}/noise_filter/report/summary.json"]
    return outputs


# Graph construction (rules/graph.smk)
GRAPH = config["graph"]
GRAPH_MODEL = {"geometric": "graph_cuts.npz", "embedding": "graph_embedding.pt"}[GRAPH["method"]]


def get_stage_hits(wildcards):
    """The hits the stages after the noise filter read: the hits it kept, or all of them
    with noise_filter.model off (graph rows index this table)."""
    if not NOISE_FILTER_ON:
        return f"{RUN}/hits/{wildcards.event}.parquet"
    return f"{RUN}/filtered/{wildcards.event}.parquet"


def get_split_tables(split, table):
    """The ``table`` (hits or particles) files of the events of one split."""
    return expand(f"{RUN}/{table}/{{event}}.parquet", event=PLAN.splits[split])


def get_graph_model(wildcards):
    """The run's graph construction model: the geometric cuts or the trained embedding."""
    return f"{RUN}/models/{GRAPH_MODEL}"


def get_graph_model_flag(wildcards):
    return "--cuts" if GRAPH["method"] == "geometric" else "--model"


def get_graph_cuts_options(wildcards):
    return cli_options({"pt_min": GRAPH["pt_min"], **GRAPH["geometric"]})


def get_embedding_options(wildcards):
    return cli_options({"pt_min": GRAPH["pt_min"], **GRAPH["embedding"]})


def get_graph_metrics_files(wildcards):
    return expand(f"{RUN}/graph_metrics/{{event}}.json", event=SCORED_EVENTS)


def get_graph_outputs():
    """Graphs of the test events and the graph report (when events have truth).

    None when the run has no training events to derive the model from and uses no shipped one.
    """
    if not (PRETRAINED_MODELS or PLAN.splits["train"]):
        return []
    outputs = expand(f"{RUN}/graphs/{{event}}.parquet", event=TEST_EVENTS)
    if SCORED_EVENTS:
        outputs.append(f"{RUN}/report/graph/summary.json")
    return outputs


def get_graph_benchmark_files(wildcards):
    return expand(benchmark_path("build_graph"), event=SCORED_EVENTS)


# GNN stages (rules/gnn.smk)
GNN = config["gnn"]
GNN_EDGE_CLASSIFIERS = [m for m in GNN["models"] if m in ("interaction_network", "euclidnet")]
GNN_DEVICE = config["resources"]["device"]
GNN_RESOURCES = gpu_resources(config["resources"])  # {gpu: 1, ...} only with resources.device cuda


wildcard_constraints:
    gnn_model="interaction_network|euclidnet|condensation",


def get_gnn_split_hits(split):
    """The hits tables the graphs of one split's events were built on (get_stage_hits)."""
    from types import SimpleNamespace

    return [get_stage_hits(SimpleNamespace(event=e)) for e in PLAN.splits[split]]


def get_gnn_split_graphs(split):
    return expand(f"{RUN}/graphs/{{event}}.parquet", event=PLAN.splits[split])


def get_gnn_model_options(wildcards):
    """The model's section of gnn (its architecture and, for condensation, loss settings)."""
    return cli_options(GNN[wildcards.gnn_model])


def get_gnn_train_options(wildcards):
    return f"{cli_options(GNN[wildcards.gnn_model])} {cli_options(GNN['training'])}"


def get_gnn_data_provenance(wildcards):
    import json

    return json.dumps({"data": config["data"], "graph": GRAPH})


def get_gnn_model_files(wildcards):
    return expand(f"{RUN}/models/gnn_{{model}}.pt", model=GNN["models"])


def get_gnn_edge_metrics_files(wildcards):
    return expand(f"{RUN}/edge_metrics/{{model}}/{{event}}.json", model=GNN_EDGE_CLASSIFIERS, event=SCORED_EVENTS)


def get_gnn_outputs():
    """Scores of every GNN on the test events, and the models section when events have truth.

    Without training events and without pretrained models there is nothing to run the GNNs
    with: they are left out, and the run says so.
    """
    if not PRETRAINED_MODELS and not PLAN.splits["train"]:
        if GNN["models"]:
            print("trackrec: no training events and models.source is train: the GNN stages "
                  "are left out", file=sys.stderr)
        return []
    outputs = expand(f"{RUN}/scores/{{model}}/{{event}}.parquet", model=GNN["models"], event=TEST_EVENTS)
    if SCORED_EVENTS and GNN["models"]:
        outputs.append(f"{RUN}/report/models.json")
    return outputs


# Cluster execution (see README "On SLURM").
#
# GPU stages declare ``resources: **get_gpu_resources()``: with resources.device cuda their
# jobs ask SLURM for one GPU (of type resources.gpu_model), otherwise for none; CPU stages
# declare nothing. A GPU stage's command picks the device the job got (CUDA_VISIBLE_DEVICES)
# and falls back to the CPU with a warning in its log where CUDA is missing.
#
# Job grouping: per-event stages declare ``group: "events"``; under SLURM the profile's
# ``group-components: events=N`` packs the jobs of N events into one SLURM job (local runs
# ignore groups). Stages needing a model trained on other events' outputs (GNN inference,
# the tracks built from it, their metrics) need a group of their own per model level (for
# example "gnn"), because Snakemake refuses a group job whose jobs depend on each other
# through a job outside it (the training). GPU stages likewise get a group of their own, so
# CPU stages never hold a GPU. The groups, in the order of the chain: events (ingest, DBSCAN,
# CKF, their metrics and fits), filter (noise filter), graphs (graph construction). The GNN
# stages and what follows them are not grouped: Snakemake's group check walks each grouped
# job's upstream, which for them is the whole training DAG (a 1,000-event dry run took 417 s
# with them grouped, 73 s without).


# methods whose tracks need no trained model: their per-event jobs join the "events" group
UNTRAINED_METHODS = {"dbscan_baseline", "ckf"}


def get_method_group(wildcards):
    """The group of a method's per-event job (evaluate, fit): "events" for methods without a
    trained model (and external ones), none for the others (see the note above)."""
    method = wildcards.method
    return "events" if method in UNTRAINED_METHODS or method in EXTERNAL else None


def get_gpu_resources():
    """``{gpu: 1, gpu_model: ...}`` with resources.device cuda; ``{}`` otherwise."""
    return gpu_resources(config["resources"])


def report_after_failure():
    """The partial report of a failed run (see rules/failures.smk); never raises."""
    from trackrec.cli import main as trackrec
    from trackrec.report.failures import failure_reasons

    for event, reason in sorted(failure_reasons(f"{RUN}/logs", PLAN.events).items()):
        logger.error(f"trackrec: {event} failed: {reason}")
    # the report rule's inputs that exist
    metrics = [p for p in get_metrics_files(None) if os.path.exists(p)]
    if not SCORED_EVENTS or not metrics:
        return
    partial = f"{RUN}/report/partial"
    args = ["report", "--metrics", *metrics, "--logs", f"{RUN}/logs"]
    args += ["--benchmarks", *[p for p in get_benchmark_files(None) if os.path.exists(p)]]
    args += ["--expected-events", *SCORED_EVENTS, "--summary-json", f"{partial}/summary.json"]
    args += ["--title", f"trackrec report (partial): {config['run']}"]
    try:
        status = trackrec(args)
    except Exception as err:  # the run has failed already; say why no report follows
        status = f"{type(err).__name__}: {err}"
    if status:
        logger.error(f"trackrec: no partial report ({status})")
    else:
        logger.error(f"trackrec: report of the events that finished: {partial}/report.html")


# GNN track building (rules/track_building.smk)
GNN_EC = config["tracking"]["gnn_ec"]
GNN_OC = config["tracking"]["gnn_oc"]
# the DBSCAN parameters of gnn_oc are scanned when there are validation events with truth
OC_SCAN_EVENTS = list(PLAN.splits["val"])


def get_gnn_ec_scores(wildcards):
    return f"{RUN}/scores/{GNN_EC['classifier']}/{wildcards.event}.parquet"


def get_gnn_ec_options(wildcards):
    return cli_options(GNN_EC)


def get_oc_scan_files(table):
    """Condensation scores, hits or particles of the scan's validation events."""
    pattern = {
        "scores": f"{RUN}/scores/condensation/{{event}}.parquet",
        "hits": f"{RUN}/hits/{{event}}.parquet",
        "particles": f"{RUN}/particles/{{event}}.parquet",
    }[table]
    return expand(pattern, event=OC_SCAN_EVENTS)


def get_oc_scan_options(wildcards):
    options = {k: GNN_OC[k] for k in ("eps_grid", "min_samples_grid", "beta_min")}
    options.update({k: config["metrics"][k] for k in ("max_abs_eta", "min_track_hits")})
    return cli_options(options)


def get_gnn_oc_inputs(wildcards):
    inputs = {"scores": f"{RUN}/scores/condensation/{wildcards.event}.parquet"}
    if OC_SCAN_EVENTS:
        inputs["scan"] = f"{RUN}/models/gnn_oc_dbscan_scan.json"
    return inputs


def get_gnn_oc_options(wildcards, input):
    """The scan's choice when there is one, else the configured eps and min_samples."""
    if "scan" in input.keys():
        return f"--scan {shlex.quote(input.scan)}"
    return cli_options({k: GNN_OC[k] for k in ("eps", "min_samples", "beta_min")})


def get_track_building_sections(wildcards):
    """The DBSCAN scan's report section when gnn_oc runs with a scan."""
    if "gnn_oc" in METHODS and OC_SCAN_EVENTS:
        return [f"{RUN}/report/sections/gnn_oc_dbscan_scan.json"]
    return []


# stages (benchmark folders) of each method's chain from hits to tracks, for the
# throughput score of the report
METHOD_CHAINS = {
    "dbscan_baseline": ["ingest", "track_dbscan_baseline"],
    "gnn_ec": ["ingest", "build_graph", f"infer_gnn/{GNN_EC['classifier']}", "track_gnn_ec"],
    "gnn_oc": ["ingest", "build_graph", "infer_gnn/condensation", "track_gnn_oc"],
}


def get_chain_benchmark_files():
    """Benchmarks of the chain stages of the GNN methods on the test events."""
    stages = {s for m in METHODS if m in ("gnn_ec", "gnn_oc") for s in METHOD_CHAINS[m][1:-1]}
    return [f"{RUN}/benchmarks/{s}/{e}.tsv" for s in sorted(stages) for e in TEST_EVENTS]


def get_method_chain_options(wildcards):
    """``--chain METHOD=STAGE,...`` for the report's throughput score."""
    return " ".join(
        f"--chain {shlex.quote(m + '=' + ','.join(METHOD_CHAINS[m]))}" for m in METHODS if m in METHOD_CHAINS
    )


def get_report_options(wildcards, input):
    """The report's section options and the methods' chains (throughput scores)."""
    return f"{get_report_section_options(wildcards, input)} {get_method_chain_options(wildcards)}"
