# Per-event metrics of every method on the test events.


rule evaluate:
    group:
        "events"
    input:
        hits=f"{RUN}/hits/{{event}}.parquet",
        particles=f"{RUN}/particles/{{event}}.parquet",
        tracks=f"{RUN}/tracks/{{method}}/{{event}}.parquet",
    output:
        metrics=f"{RUN}/metrics/{{method}}/{{event}}.json",
    params:
        options=get_metrics_options,
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/evaluate/{{method}}/{{event}}.log",
    benchmark:
        f"{RUN}/benchmarks/evaluate/{{method}}/{{event}}.tsv"
    shell:
        "trackrec evaluate --hits {input.hits} --particles {input.particles}"
        " --tracks {input.tracks} --out {output.metrics} {params.options} > {log} 2>&1"
