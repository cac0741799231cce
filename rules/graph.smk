# Graph construction: geometric cuts (no training) or a learned embedding, per-event graphs
# and their edge metrics.


if not PRETRAINED_MODELS:

    rule graph_cuts:
        input:
            hits=get_split_tables("train", "hits"),
            particles=get_split_tables("train", "particles"),
            val_hits=get_split_tables("val", "hits"),
            val_particles=get_split_tables("val", "particles"),
        output:
            model=f"{RUN}/models/graph_cuts.npz",
            provenance=f"{RUN}/models/graph_cuts.json",
        params:
            options=get_graph_cuts_options,
        conda:
            "../envs/trackrec.yaml"
        log:
            f"{RUN}/logs/graph_cuts.log",
        shell:
            "trackrec graph-cuts --hits {input.hits:q} --particles {input.particles:q}"
            " --val-hits {input.val_hits:q} --val-particles {input.val_particles:q}"
            " --out {output.model:q} {params.options} > {log:q} 2>&1"


rule build_graph:
    input:
        hits=get_stage_hits,
        model=get_graph_model,
    output:
        graph=f"{RUN}/graphs/{{event}}.parquet",
    params:
        model_flag=get_graph_model_flag,
        pt_min=GRAPH["pt_min"],
    threads: GRAPH["threads"]
    conda:
        "../envs/trackrec.yaml"
    log:
        log_path("build_graph"),
    benchmark:
        benchmark_path("build_graph")
    shell:
        "trackrec build-graph --hits {input.hits:q} {params.model_flag} {input.model:q}"
        " --pt-min {params.pt_min} --out {output.graph:q} --threads {threads} > {log:q} 2>&1"


rule evaluate_graph:
    input:
        hits=get_stage_hits,
        particles=f"{RUN}/particles/{{event}}.parquet",
        graph=f"{RUN}/graphs/{{event}}.parquet",
    output:
        metrics=f"{RUN}/graph_metrics/{{event}}.json",
    params:
        pt_thresholds=GRAPH["metrics_pt_thresholds"],
        max_abs_eta=config["metrics"]["max_abs_eta"],
    conda:
        "../envs/trackrec.yaml"
    log:
        log_path("evaluate_graph"),
    shell:
        "trackrec evaluate-graph --hits {input.hits:q} --particles {input.particles:q}"
        " --graph {input.graph:q} --out {output.metrics:q}"
        " --pt-thresholds {params.pt_thresholds} --max-abs-eta {params.max_abs_eta} > {log:q} 2>&1"
