# GNN track building (trackrec.tracking.gnn_command): the gnn_ec method (edge classifier
# scores -> walk-through or connected components) and gnn_oc (object-condensation
# coordinates -> DBSCAN, its eps and min_samples scanned on the validation events).


rule track_gnn_ec:
    input:
        hits=get_stage_hits,
        scores=get_gnn_ec_scores,
    output:
        tracks=f"{RUN}/tracks/gnn_ec/{{event}}.parquet",
    params:
        options=get_gnn_ec_options,
    conda:
        "../envs/trackrec.yaml"
    log:
        log_path("track_gnn_ec"),
    benchmark:
        benchmark_path("track_gnn_ec")
    shell:
        "trackrec build-tracks-edges --hits {input.hits:q} --scores {input.scores:q}"
        " {params.options} --out {output.tracks:q} > {log:q} 2>&1"


rule scan_oc_dbscan:
    input:
        scores=get_oc_scan_files("scores"),
        hits=get_oc_scan_files("hits"),
        particles=get_oc_scan_files("particles"),
    output:
        scan=f"{RUN}/models/gnn_oc_dbscan_scan.json",
        section=f"{RUN}/report/sections/gnn_oc_dbscan_scan.json",
    params:
        options=get_oc_scan_options,
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/scan_oc_dbscan.log",
    shell:
        "trackrec scan-oc-dbscan --scores {input.scores:q} --hits {input.hits:q}"
        " --particles {input.particles:q} {params.options}"
        " --out {output.scan:q} --section {output.section:q} > {log:q} 2>&1"


rule track_gnn_oc:
    input:
        unpack(get_gnn_oc_inputs),
    output:
        tracks=f"{RUN}/tracks/gnn_oc/{{event}}.parquet",
    params:
        options=get_gnn_oc_options,
    conda:
        "../envs/trackrec.yaml"
    log:
        log_path("track_gnn_oc"),
    benchmark:
        benchmark_path("track_gnn_oc")
    shell:
        "trackrec build-tracks-oc --scores {input.scores:q} {params.options}"
        " --out {output.tracks:q} > {log:q} 2>&1"
