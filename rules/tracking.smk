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
    # the curvature scan's clusterings run in parallel; --cores caps it, and on SLURM the
    # job asks for this many CPUs (cpus_per_task: threads in the slurm profile)
    threads: 4
    conda:
        "../envs/trackrec.yaml"
    log:
        log_path("track_dbscan_baseline"),
    benchmark:
        benchmark_path("track_dbscan_baseline")
    shell:
        "trackrec track-dbscan --hits {input.hits:q} --out {output.tracks:q} --threads {threads}"
        " {params.options} > {log:q} 2>&1"


rule track_ckf:
    group:
        "events"
    input:
        unpack(get_ckf_inputs),
    output:
        tracks=f"{RUN}/tracks/ckf/{{event}}.parquet",
    params:
        options=get_ckf_options,
    threads: 2
    conda:
        "../envs/trackrec.yaml"
    log:
        log_path("track_ckf"),
    benchmark:
        benchmark_path("track_ckf")
    shell:
        "trackrec track-ckf --hits {input.hits:q} --out {output.tracks:q} --threads {threads}"
        " {params.options} > {log:q} 2>&1"
