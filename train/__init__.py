"""streid.train: models, data readers, the synthetic world, losses, the engine and evaluation.

Never imports ``streid.export`` or ``streid.pipeline``.
"""
