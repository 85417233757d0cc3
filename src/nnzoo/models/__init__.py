"""One module per architecture family; each registers its factories with nnzoo.registry.

Every public module here is imported when the registry is first used, so adding a file is
enough to add architectures.

A model is a plain ``nn.Module``. The optional attributes that the trainer, the explainers and
the CLI look for on it (``training_loss``, ``predict``, ``layer_rows``, ``input_shape``, ...) are
listed, with their signatures and readers, in :mod:`nnzoo.models._hooks`.

Models build on ``nnzoo.layers``, ``nnzoo.losses`` and the registry but never import
``nnzoo.train``, ``nnzoo.explain`` or ``nnzoo.cli`` (``tests/test_layering.py``): those read
models, so a model reaching back would tie the layers in a circle.
"""
