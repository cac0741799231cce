# External methods (tracking.external): another program's tracks, checked against the event's
# hits and stored as tracks/<method>/<event>.parquet, then scored by the evaluate rule like
# the tracks of a built-in method. Only events whose tracks exist are scheduled (common.smk).


rule import_tracks:
    group:
        "events"
    input:
        hits=f"{RUN}/hits/{{event}}.parquet",
        submission=get_external_tracks,
    output:
        tracks=f"{RUN}/tracks/{{external_method}}/{{event}}.parquet",
    params:
        options=get_external_options,
    wildcard_constraints:
        external_method="|".join(EXTERNAL) or "(?!)",  # (?!) matches nothing
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/import_tracks/{{external_method}}/{{event}}.log",
    benchmark:
        f"{RUN}/benchmarks/import_tracks/{{external_method}}/{{event}}.tsv"
    shell:
        "trackrec import-tracks --submission {input.submission:q} --hits {input.hits:q}"
        " --out {output.tracks:q} {params.options} > {log:q} 2>&1"
