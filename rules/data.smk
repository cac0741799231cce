# Event data: simulation (data.source: simulate) and ingest into Parquet hit tables.


rule simulate_detector:
    output:
        detectors=f"{SIMULATED}/detectors.csv.gz",
        geometry=f"{SIMULATED}/geometry.npz",  # prepared once for every simulate_event job
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/simulate_detector.log",
    shell:
        "trackrec simulate-detector --out {output.detectors:q} --geometry {output.geometry:q}"
        " > {log:q} 2>&1"


rule simulate_event:
    group:
        "events"
    input:
        detectors=f"{SIMULATED}/detectors.csv.gz",
        geometry=f"{SIMULATED}/geometry.npz",
    output:
        hits=f"{SIMULATED}/{{event}}-hits.csv.gz",
        cells=f"{SIMULATED}/{{event}}-cells.csv.gz",
        particles=f"{SIMULATED}/{{event}}-particles.csv.gz",
        truth=f"{SIMULATED}/{{event}}-truth.csv.gz",
    params:
        outdir=get_output_folder,
        options=get_simulate_options,
    conda:
        "../envs/trackrec.yaml"
    log:
        log_path("simulate_event"),
    benchmark:
        benchmark_path("simulate_event")
    shell:
        "trackrec simulate --out {params.outdir:q} --events 1 {params.options}"
        " --detectors {input.detectors:q} --geometry {input.geometry:q} > {log:q} 2>&1"


rule ingest:
    group:
        "events"
    input:
        unpack(get_raw_event),
    output:
        hits=f"{RUN}/hits/{{event}}.parquet",
        particles=f"{RUN}/particles/{{event}}.parquet",
    params:
        prefix=get_event_prefix,
        options=get_ingest_options,
    conda:
        "../envs/trackrec.yaml"
    log:
        log_path("ingest"),
    benchmark:
        benchmark_path("ingest")
    shell:
        "trackrec ingest {params.prefix:q} --hits {output.hits:q} --particles {output.particles:q}"
        " {params.options} > {log:q} 2>&1"
