# trackrec: reconstruction of charged-particle tracks in TrackML-format events.
# Run: snakemake --cores 2            (laptop; the embedded default config)
#      snakemake --profile slurm      (SLURM login node; see README)
from snakemake.utils import min_version, validate

from trackrec.config import coerce_config_strings, load_schema

min_version("9.0")


configfile: "config/config.yaml"


# nested --config values arrive as strings; give them the schema's types, then validate
coerce_config_strings(config, load_schema(workflow.source_path("workflow/schemas/config.schema.yaml")))


validate(config, "workflow/schemas/config.schema.yaml")


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/models.smk"
include: "rules/noise.smk"
include: "rules/tracking.smk"
include: "rules/graph.smk"
include: "rules/gnn.smk"
include: "rules/track_building.smk"
include: "rules/external.smk"
include: "rules/metrics.smk"
include: "rules/kalman.smk"
include: "rules/report.smk"
include: "rules/failures.smk"


rule all:
    input:
        get_final_outputs,
    default_target: True
