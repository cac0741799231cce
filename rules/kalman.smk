# Kalman fit of every method's tracks, and the fit summary (resolutions, pulls, charge misID).


rule fit_tracks:
    group:
        get_method_group
    input:
        unpack(get_fit_inputs),
    output:
        fitted=f"{RUN}/fitted/{{method}}/{{event}}.parquet",
    params:
        options=get_fit_options,
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/fit_tracks/{{method}}/{{event}}.log",
    benchmark:
        f"{RUN}/benchmarks/fit_tracks/{{method}}/{{event}}.tsv"
    shell:
        "trackrec fit-tracks --hits {input.hits:q} --tracks {input.tracks:q}"
        " --particles {input.particles:q} --out {output.fitted:q} {params.options} > {log:q} 2>&1"


rule fit_summary:
    input:
        fitted=get_fitted_files,
    output:
        summary=f"{RUN}/report/fit/fit_summary.json",
        plot_pt=report(
            f"{RUN}/report/fit/fit_resolution_vs_pt.png",
            caption="../workflow/report/fit_resolution.rst",
            category="Track fit",
        ),
        plot_eta=report(
            f"{RUN}/report/fit/fit_resolution_vs_eta.png",
            caption="../workflow/report/fit_resolution.rst",
            category="Track fit",
        ),
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/fit_summary.log",
    shell:
        "trackrec fit-summary --fitted {input.fitted:q} --summary-json {output.summary:q}"
        " --plot-pt {output.plot_pt:q} --plot-eta {output.plot_eta:q} > {log:q} 2>&1"
