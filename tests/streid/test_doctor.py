"""The doctor's verdicts: required vs optional, and the fix line."""

from __future__ import annotations

from streid.doctor import Check, check_encoders, failures


def test_optional_absence_is_not_a_failure() -> None:
    checks = [Check("TensorRT", False, "absent", required=False), Check("torch", True, "2.x")]
    assert failures(checks) == []


def test_required_absence_fails_with_fix() -> None:
    checks = [Check("GStreamer", False, "Gst.init failed", True, "apt-get install x")]
    assert [c.name for c in failures(checks)] == ["GStreamer"]
    assert failures(checks)[0].fix


def test_one_h264_encoder_is_enough() -> None:
    x264_absent = Check("  x264enc", False, "", False)
    assert check_encoders([x264_absent, Check("  openh264enc", True, "", False)]) is None
    missing = check_encoders([x264_absent, Check("  openh264enc", False, "", False)])
    assert missing is not None and missing.required
