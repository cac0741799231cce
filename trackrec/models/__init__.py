"""Graph neural networks on hit graphs, and their training and inference stages.

One :class:`torch_geometric.nn.MessagePassing` model per module:

- :mod:`trackrec.models.interaction_network`: the Interaction Network edge classifier;
- :mod:`trackrec.models.euclidnet`: the SO(2)-equivariant EuclidNet edge classifier;
- :mod:`trackrec.models.condensation`: the object-condensation network (per-hit cluster
  coordinates and condensation strength beta).

:mod:`trackrec.models.losses` holds the losses (class-weighted BCE, object condensation),
:mod:`trackrec.models.data` turns hits and graph tables into tensors, and
:mod:`trackrec.models.train` / :mod:`trackrec.models.infer` are the workflow stages.
Importing this package imports neither torch nor torch-geometric.
"""
