"""Training: the config schema, the data, the fit loop, compare-modes and the checks behind gradcheck.

Everything here returns data and prints nothing.  It trains through ``autotrain.modes`` and writes a run
only through the :class:`~autotrain.training.record.RunRecord` protocol, which ``autotrain.store``
implements: training never imports the store.
"""
