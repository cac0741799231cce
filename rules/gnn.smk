# GNN stages: training (edge classifiers and object condensation) and per-event inference,
# edge metrics of the edge classifiers on the test events, and the models section.


if not PRETRAINED_MODELS:

    rule train_gnn:
        input:
            train_hits=get_gnn_split_hits("train"),
            train_graphs=get_gnn_split_graphs("train"),
            val_hits=get_gnn_split_hits("val"),
            val_graphs=get_gnn_split_graphs("val"),
        output:
            model=f"{RUN}/models/gnn_{{gnn_model}}.pt",
            provenance=f"{RUN}/models/gnn_{{gnn_model}}.json",
            curve=f"{RUN}/models/gnn_{{gnn_model}}_curve.csv",
            plot=f"{RUN}/models/gnn_{{gnn_model}}_curve.png",
        params:
            options=get_gnn_train_options,
            device=GNN_DEVICE,
            state=f"{RUN}/models/resume/gnn_{{gnn_model}}.state.pt",
            data=get_gnn_data_provenance,
        threads: GNN["threads"]
        resources:
            **GNN_RESOURCES,
        conda:
            "../envs/trackrec.yaml"
        log:
            f"{RUN}/logs/train_gnn/{{gnn_model}}.log",
        benchmark:
            f"{RUN}/benchmarks/train_gnn/{{gnn_model}}.tsv"
        shell:
            "trackrec train-gnn --model {wildcards.gnn_model} {params.options}"
            " --device {params.device:q} --threads {threads}"
            " --train-hits {input.train_hits:q} --train-graphs {input.train_graphs:q}"
            " --val-hits {input.val_hits:q} --val-graphs {input.val_graphs:q}"
            " --out {output.model:q} --curve {output.curve:q} --plot {output.plot:q}"
            " --state {params.state:q} --data-provenance {params.data:q} > {log:q} 2>&1"


rule infer_gnn:
    input:
        hits=get_stage_hits,
        graph=f"{RUN}/graphs/{{event}}.parquet",
        model=f"{RUN}/models/gnn_{{gnn_model}}.pt",
    output:
        scores=f"{RUN}/scores/{{gnn_model}}/{{event}}.parquet",
    params:
        options=get_gnn_model_options,
        device=GNN_DEVICE,
    threads: GNN["threads"]
    resources:
        **GNN_RESOURCES,
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/infer_gnn/{{gnn_model}}/{{event}}.log",
    benchmark:
        f"{RUN}/benchmarks/infer_gnn/{{gnn_model}}/{{event}}.tsv"
    shell:
        "trackrec infer-gnn --model {wildcards.gnn_model} {params.options}"
        " --device {params.device:q} --threads {threads} --checkpoint {input.model:q}"
        " --hits {input.hits:q} --graph {input.graph:q} --out {output.scores:q} > {log:q} 2>&1"


rule evaluate_edges:
    input:
        hits=get_stage_hits,
        particles=f"{RUN}/particles/{{event}}.parquet",
        scores=f"{RUN}/scores/{{gnn_model}}/{{event}}.parquet",
    output:
        metrics=f"{RUN}/edge_metrics/{{gnn_model}}/{{event}}.json",
    params:
        working_point=GNN["working_point"],
        pt_threshold=GRAPH["pt_min"],
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/evaluate_edges/{{gnn_model}}/{{event}}.log",
    shell:
        "trackrec evaluate-edges --hits {input.hits:q} --particles {input.particles:q}"
        " --scores {input.scores:q} --working-point {params.working_point:q}"
        " --pt-threshold {params.pt_threshold:q} --out {output.metrics:q} > {log:q} 2>&1"


rule summarise_gnn:
    input:
        models=get_gnn_model_files,
        edge_metrics=get_gnn_edge_metrics_files,
    output:
        summary=f"{RUN}/report/models.json",
    params:
        working_point=GNN["working_point"],
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/summarise_gnn.log",
    shell:
        "trackrec summarise-gnn --checkpoints {input.models:q}"
        " --edge-metrics {input.edge_metrics:q} --working-point {params.working_point:q}"
        " --out {output.summary:q} > {log:q} 2>&1"
