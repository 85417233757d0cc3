"""One module per architecture family; each registers its factories with nnzoo.registry.

Every public module here is imported when the registry is first used, so adding a file is
enough to add architectures.
"""
