# Trained models. With models.source: pretrained, each model a stage asks for under
# <run>/models/ is a copy of the shipped one; with train, the stage's training rule makes it.


if PRETRAINED_MODELS:
    for model_suffix in ("pt", "npz"):  # torch weights, array models

        rule:
            name:
                f"install_pretrained_{model_suffix}"
            input:
                model=f"{PRETRAINED_DIR}/{{model}}.{model_suffix}",
                provenance=f"{PRETRAINED_DIR}/{{model}}.json",
            output:
                model=f"{RUN}/models/{{model}}.{model_suffix}",
                provenance=f"{RUN}/models/{{model}}.json",
            conda:
                "../envs/trackrec.yaml"
            log:
                f"{RUN}/logs/install_model/{{model}}.{model_suffix}.log",
            shell:
                "trackrec install-model --model {input.model:q} --out {output.model:q} > {log:q} 2>&1"
