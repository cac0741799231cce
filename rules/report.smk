# The run's plan file, the stages' report sections, and the aggregate report:
# summary.json/csv, report.html and its plots.


# writing a small JSON file is not worth a cluster job
localrules:
    plan_file,
    report_section,


wildcard_constraints:
    section_kind="fit|graph|models",


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


rule report_section:
    input:
        summary=get_section_summary,
        images=get_section_images,
    output:
        section=f"{RUN}/report/sections/{{section_kind}}.json",
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/report_section/{{section_kind}}.log",
    shell:
        "trackrec report-section --kind {wildcards.section_kind} --summary {input.summary:q}"
        " --images {input.images:q} --out {output.section:q} > {log:q} 2>&1"


rule report:
    input:
        plan=f"{RUN}/plan.json",
        metrics=get_metrics_files,
        benchmarks=get_benchmark_files,
        sections=get_report_sections,
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
        rates_pt=report(
            f"{RUN}/report/fake_duplicate_vs_pt.png",
            caption="../workflow/report/fake_duplicate_vs_pt.rst",
            category="Tracking performance",
        ),
        rates_eta=report(
            f"{RUN}/report/fake_duplicate_vs_eta.png",
            caption="../workflow/report/fake_duplicate_vs_eta.rst",
            category="Tracking performance",
        ),
        events=report(
            f"{RUN}/report/events.png",
            caption="../workflow/report/events.rst",
            category="Tracking performance",
        ),
        stages=report(
            f"{RUN}/report/stages.png",
            caption="../workflow/report/stages.rst",
            category="Resources",
        ),
    params:
        folder=get_output_folder,
        # "--section FILE ..." and "--chain METHOD=STAGE,..." (throughput), each word quoted
        options=get_report_options,
    conda:
        "../envs/trackrec.yaml"
    log:
        f"{RUN}/logs/report.log",
    shell:
        "trackrec report --plan {input.plan:q} --metrics {input.metrics:q}"
        " --benchmarks {input.benchmarks:q} {params.options}"
        " --out-dir {params.folder:q} > {log:q} 2>&1"
