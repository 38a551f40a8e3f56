"""Torch-free halves of the built-in components: options, circuit layouts, and their registration.

The built-in plugins register their components here by import string, each with the layout class
beside it, so building the registries and checking or describing a profile imports no torch
(docs/architecture.md, deviation 11); the torch halves (:mod:`hqnn_plugins.encoders`, ...) load
when a component is built.
"""
