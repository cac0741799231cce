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

    rule train_embedding:
        input:
            hits=get_split_tables("train", "hits"),
            particles=get_split_tables("train", "particles"),
            val_hits=get_split_tables("val", "hits"),
            val_particles=get_split_tables("val", "particles"),
        output:
            model=f"{RUN}/models/graph_embedding.pt",
            provenance=f"{RUN}/models/graph_embedding.json",
        params:
            options=get_embedding_options,
            resume=f"{RUN}/models/graph_embedding.resume.pt",
        threads: GRAPH["threads"]
        conda:
            "../envs/trackrec.yaml"
        log:
            f"{RUN}/logs/train_embedding.log",
        benchmark:
            f"{RUN}/benchmarks/train_embedding.tsv"
        shell:
            "trackrec train-embedding --hits {input.hits:q} --particles {input.particles:q}"
            " --val-hits {input.val_hits:q} --val-particles {input.val_particles:q}"
            " --out {output.model:q} --resume {params.resume:q} --threads {threads}"
            " {params.options} > {log:q} 2>&1"


rule build_graph:
    group:
        "graphs"
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
        "trackrec build-graph --hits {input.hits:q} {params.model_flag:q} {input.model:q}"
        " --pt-min {params.pt_min:q} --out {output.graph:q} --threads {threads} > {log:q} 2>&1"


rule evaluate_graph:
    group:
        "graphs"
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
        " --pt-thresholds {params.pt_thresholds:q} --max-abs-eta {params.max_abs_eta:q} > {log:q} 2>&1"


rule report_graph:
    input:
        metrics=get_graph_metrics_files,
        model=get_graph_model,
        benchmarks=get_graph_benchmark_files,
    output:
        summary=f"{RUN}/report/graph/summary.json",
        plot=report(
            f"{RUN}/report/graph/segment50_vs_edges.png",
            caption="../workflow/report/graph_segment50.rst",
            category="Graph construction",
        ),
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/report_graph.log",
    shell:
        "trackrec report-graph --metrics {input.metrics:q} --model {input.model:q}"
        " --benchmarks {input.benchmarks:q} --summary {output.summary:q} --plot {output.plot:q}"
        " > {log:q} 2>&1"
