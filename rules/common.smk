# Shared paths and input functions. The logic lives in trackrec.plan (unit-tested).
import json
import os
import shlex

from trackrec.plan import (
    cli_options,
    event_number,
    external_events,
    external_methods,
    external_track_file,
    is_multi_event,
    make_plan,
    trackml_detectors_file,
    trackml_event_file,
)
from trackrec.config import load_schema, reserved_method_names
from trackrec.errors import TrackrecError
from trackrec.noise.stage import noise_model_file, relevant_config

RUN = f"{config['results']}/{config['run']}"
SIMULATED = f"{RUN}/simulated"
PLAN = make_plan(config["data"])
TEST_EVENTS = PLAN.splits["test"]
SCORED_EVENTS = PLAN.scored_test_events  # test events with truth
METHODS = config["tracking"]["methods"]
PRETRAINED_MODELS = config["models"]["source"] == "pretrained"
PRETRAINED_DIR = os.path.join(workflow.basedir, config["models"]["pretrained_dir"])
if config["noise_filter"]["model"] is False:  # YAML's bare `off`
    config["noise_filter"]["model"] = "off"
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
    data = config["data"]
    files = {}
    for part in ("hits", "cells", "particles", "truth"):
        path = trackml_event_file(data["trackml_dir"], event, part)
        if path is not None:
            files[part] = str(path)
    detectors = trackml_detectors_file(data)
    if detectors is not None:
        files["detectors"] = str(detectors)
    return files


def get_output_folder(wildcards, output):
    """The folder of a rule's first output (for commands that write several files there)."""
    return os.path.dirname(output[0])


def get_event_prefix(wildcards):
    return get_raw_event(wildcards)["hits"].rsplit("-hits.csv", 1)[0]


def get_ingest_options(wildcards):
    detectors = get_raw_event(wildcards).get("detectors")
    return f"--detectors {detectors}" if detectors else ""


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
    files += expand(benchmark_path("filter_noise"), event=TEST_EVENTS)
    return files


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
    outputs = expand(f"{RUN}/hits/{{event}}.parquet", event=PLAN.events)
    outputs += expand(f"{RUN}/tracks/{{method}}/{{event}}.parquet", method=METHODS, event=TEST_EVENTS)
    outputs += [f"{RUN}/tracks/{m}/{e}.parquet" for m, events in EXTERNAL_EVENTS.items() for e in events]
    if SCORED_EVENTS:
        outputs += [f"{RUN}/report/summary.json", f"{RUN}/report/report.html"]
    outputs += expand(f"{RUN}/filtered/{{event}}.parquet", event=TEST_EVENTS)
    if SCORED_EVENTS:
        outputs += [f"{RUN}/noise_filter/report/summary.json"]
    return outputs
