"""Generators from IR to scheduler text: one small module per target.

What the targets share lives in :mod:`~flowship.compiler.targets.common`:
deployment options, the step command as an argv list, resource quantities,
parameter defaults as text. A target module holds only what is its own.
"""
