# The aggregate report of a run: summary.json/csv, report.html and its plots.


rule report:
    input:
        metrics=get_metrics_files,
        benchmarks=get_benchmark_files,
    output:
        summary_json=f"{RUN}/report/summary.json",
        summary_csv=f"{RUN}/report/summary.csv",
        html=f"{RUN}/report/report.html",
        eff_pt=report(
            f"{RUN}/report/efficiency_vs_pt.png",
            caption="../workflow/report/efficiency_vs_pt.rst",
            category="Tracking performance",
        ),
        eff_eta=report(
            f"{RUN}/report/efficiency_vs_eta.png",
            caption="../workflow/report/efficiency_vs_eta.rst",
            category="Tracking performance",
        ),
        stages=report(
            f"{RUN}/report/stages.png",
            caption="../workflow/report/stages.rst",
            category="Resources",
        ),
        scores=report(
            f"{RUN}/report/scores.png",
            caption="../workflow/report/scores.rst",
            category="Tracking performance",
        ),
    params:
        expected_events=SCORED_EVENTS,
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/report.log",
    shell:
        "trackrec report --metrics {input.metrics:q} --benchmarks {input.benchmarks:q}"
        " --expected-events {params.expected_events:q}"
        " --summary-json {output.summary_json:q} --summary-csv {output.summary_csv:q}"
        " --html {output.html:q} --plot-efficiency-pt {output.eff_pt:q}"
        " --plot-efficiency-eta {output.eff_eta:q} --plot-stages {output.stages:q}"
        " --plot-scores {output.scores:q} > {log:q} 2>&1"
