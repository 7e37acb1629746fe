"""The synthetic multi-camera world (`streid synth`): identities, cameras, sites and what they write.

Entry point: :func:`streid.train.synth.build.synthesize`; typed config: ``streid.train.synth.config``.
"""
