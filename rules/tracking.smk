# Track building: one rule per method, each writing tracks/<method>/<event>.parquet.


rule track_dbscan_baseline:
    group:
        "events"
    input:
        hits=f"{RUN}/hits/{{event}}.parquet",
    output:
        tracks=f"{RUN}/tracks/dbscan_baseline/{{event}}.parquet",
    params:
        options=get_method_options("dbscan_baseline"),
    conda:
        "../envs/trackrec.yaml"
    log:
        log_path("track_dbscan_baseline"),
    benchmark:
        benchmark_path("track_dbscan_baseline")
    shell:
        "trackrec track-dbscan --hits {input.hits} --out {output.tracks} {params.options} > {log} 2>&1"
