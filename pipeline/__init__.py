"""streid.pipeline: the multi-camera GStreamer pipeline; consumes exported artifacts only."""
