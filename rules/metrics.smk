# Per-event metrics of every method on the test events.


rule evaluate:
    group:
        get_method_group
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
        "trackrec evaluate --hits {input.hits:q} --particles {input.particles:q}"
        " --tracks {input.tracks:q} --out {output.metrics:q} {params.options} > {log:q} 2>&1"
