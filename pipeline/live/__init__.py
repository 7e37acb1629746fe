"""Live outputs of a run: the annotated cameras restreamed over RTSP and the state the dashboard shows."""
