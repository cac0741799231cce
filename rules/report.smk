# The run's plan file and the aggregate report: summary.json/csv, report.html and its plots.


rule plan_file:
    output:
        plan=f"{RUN}/plan.json",
    params:
        config=get_plan_config,
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/plan_file.log",
    shell:
        "trackrec plan --config-json {params.config:q} --out {output.plan:q} > {log:q} 2>&1"


rule report:
    input:
        plan=f"{RUN}/plan.json",
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
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/report.log",
    shell:
        "trackrec report --metrics {input.metrics:q} --benchmarks {input.benchmarks:q}"
        " --plan {input.plan:q}"
        " --summary-json {output.summary_json:q} --summary-csv {output.summary_csv:q}"
        " --html {output.html:q} --plot-efficiency-pt {output.eff_pt:q}"
        " --plot-efficiency-eta {output.eff_eta:q} --plot-stages {output.stages:q}"
        " --plot-scores {output.scores:q} > {log:q} 2>&1"
