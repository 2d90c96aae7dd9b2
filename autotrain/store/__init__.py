"""The run store: run directories and checkpoints, metrics files, the catalog of runs, saved comparisons,
evaluation of a saved run, and TensorBoard export.

It sits above ``autotrain.training`` (it reads configs and implements the fit loop's
:class:`~autotrain.training.record.RunRecord`) and below ``autotrain.sweep`` and ``autotrain.cli``.
"""
