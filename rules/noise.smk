# Noise-hit filter: training (models.source: train), per-event filtering of the test events,
# and the filter's own summary (JSON + ROC plot with the working point).


if NOISE_MODEL_FILE and not PRETRAINED_MODELS:

    rule train_noise_filter:
        input:
            train_hits=expand(f"{RUN}/hits/{{event}}.parquet", event=PLAN.splits["train"]),
            train_particles=expand(f"{RUN}/particles/{{event}}.parquet", event=PLAN.splits["train"]),
            val_hits=expand(f"{RUN}/hits/{{event}}.parquet", event=PLAN.splits["val"]),
            val_particles=expand(f"{RUN}/particles/{{event}}.parquet", event=PLAN.splits["val"]),
        output:
            model=NOISE_MODEL_FILE,
            provenance=noise_provenance_file(),
        params:
            config=get_noise_config_json,
            data=get_data_config_json,
        threads: 2
        conda:
            "../envs/trackrec.yaml"
        log:
            f"{RUN}/logs/train_noise_filter.log",
        benchmark:
            f"{RUN}/benchmarks/train_noise_filter.tsv"
        shell:
            "trackrec train-noise-filter --train-hits {input.train_hits:q}"
            " --train-particles {input.train_particles:q} --val-hits {input.val_hits:q}"
            " --val-particles {input.val_particles:q} --config {params.config:q}"
            " --data {params.data:q} --threads {threads} --out {output.model:q} > {log:q} 2>&1"


rule filter_noise:
    group:
        "filter"  # after a model trained on other events: not with their ingest jobs
    input:
        unpack(get_noise_filter_inputs),
    output:
        filtered=f"{RUN}/filtered/{{event}}.parquet",
        metrics=f"{RUN}/noise_filter/metrics/{{event}}.json",
        histograms=f"{RUN}/noise_filter/histograms/{{event}}.json",
    params:
        config=get_noise_config_json,
        options=get_noise_model_option,  # --model FILE (quoted) or nothing
    conda:
        "../envs/trackrec.yaml"
    log:
        log_path("filter_noise"),
    benchmark:
        benchmark_path("filter_noise")
    shell:
        "trackrec filter-noise --hits {input.hits:q} --particles {input.particles:q}"
        " {params.options} --config {params.config:q} --out {output.filtered:q}"
        " --metrics {output.metrics:q} --histograms {output.histograms:q} > {log:q} 2>&1"


rule report_noise_filter:
    input:
        unpack(get_noise_report_inputs),
    output:
        summary=f"{RUN}/noise_filter/report/summary.json",
        roc=f"{RUN}/noise_filter/report/roc.png",
    params:
        config=get_noise_config_json,
        options=get_noise_model_option,  # --model FILE (quoted) or nothing
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/report_noise_filter.log",
    shell:
        "trackrec report-noise-filter --metrics {input.metrics:q} --histograms {input.histograms:q}"
        " {params.options} --config {params.config:q} --summary-json {output.summary:q}"
        " --plot-roc {output.roc:q} > {log:q} 2>&1"
