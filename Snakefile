# trackrec: reconstruction of charged-particle tracks in TrackML-format events.
# Run: snakemake --cores 2            (laptop; the embedded default config)
#      snakemake --profile slurm      (SLURM login node; see README)
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/tracking.smk"
include: "rules/metrics.smk"
include: "rules/report.smk"


rule all:
    input:
        get_final_outputs,
    default_target: True
