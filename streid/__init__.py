"""STREID: spatiotemporal person re-identification across cameras.

Importing this package has no side effects: it sets no environment variables, touches no files
and imports no heavy library. Stages live in ``streid.train``, ``streid.export`` and
``streid.pipeline``.
"""

__version__ = "0.1.0"
