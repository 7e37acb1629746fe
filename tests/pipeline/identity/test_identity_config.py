"""The identity section: the example site config loads, bad sites fail naming the key, config -> objects."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streid.config import ConfigError, load_config
from streid.pipeline.identity.build import matcher_from_config, resume_matcher, store_from_config
from streid.pipeline.identity.records import TrackletObs


def test_example_site_config(repo: Path, tmp_path: Path) -> None:
    cfg = load_config(repo / "configs/site/example.yaml").identity
    assert cfg.site.overlaps == [("cam1", "cam2")]
    m = matcher_from_config(cfg, 8)
    assert frozenset(("cam1", "cam3")) in m.constraints.windows
    store = store_from_config(cfg, tmp_path, embedder="models/reid.onnx")
    v = np.eye(8, dtype=np.float32)[0]
    t = TrackletObs("cam1", 1, 0.0, 1.0, v)
    store.put_tracklets([t])
    store.put_decisions(m.update([t]))
    assert store.get_meta("embedder") == "models/reid.onnx"
    again = resume_matcher(cfg, store, 8)  # resume: the stored identity is matched, not duplicated
    assert again.update([TrackletObs("cam1", 2, 50.0, 51.0, v)])[0].global_id == 1
    store.close()
    with pytest.raises(ValueError, match="filled by embedder"):
        store_from_config(cfg, tmp_path, embedder="other.onnx")


def test_unknown_camera_in_transit_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "site.yaml"
    bad.write_text("identity:\n  site:\n    cameras: [a, b]\n    transit:\n      - {a: a, b: zz, min_s: 1}\n")
    with pytest.raises(ConfigError, match="zz"):
        load_config(bad)


def test_one_pass_site_rule_from_config_and_from_a_synthetic_site(tmp_path: Path) -> None:
    """``max_pass_s`` reaches the matcher; a bad value names the key; a synthetic site.json that promises one pass
    per camera sets it, one that does not (or an older one without ``passes``) leaves people free to come back."""
    import json

    from streid.pipeline.identity.job import site_from_synth

    good = tmp_path / "site.yaml"
    good.write_text("identity:\n  site:\n    cameras: [a, b]\n    max_pass_s: 20\n")
    assert matcher_from_config(load_config(good).identity, 8).constraints.max_pass_s == 20.0
    assert "one pass per camera (max_pass_s 20)" in load_config(good).identity.site.summary()
    bad = tmp_path / "bad.yaml"
    bad.write_text("identity:\n  site:\n    max_pass_s: -3\n")
    with pytest.raises(ConfigError, match="max_pass_s"):
        load_config(bad)
    base = {"cameras": [{"name": "cam1"}, {"name": "cam2"}], "links": [{"from": "cam1", "to": "cam2", "transit_s": 4}]}
    for passes, expected in (({"once": True, "max_s": 17.5}, 17.5), ({"once": False, "max_s": 17.5}, None),
                             (None, None)):
        path = tmp_path / "site.json"
        path.write_text(json.dumps(base | ({"passes": passes} if passes else {})))
        site = site_from_synth(path)
        assert site["transit"] == [{"a": "cam1", "b": "cam2", "min_s": 2.0}]
        assert site.get("max_pass_s") == expected
    for bad, key in (({"once": True, "max_s": "x"}, "passes.max_s"), ({"once": True, "max_s": [1]}, "passes.max_s"),
                     ({"once": True, "max_s": -3}, "passes.max_s"), ([1], "passes")):
        path.write_text(json.dumps(base | {"passes": bad}))
        with pytest.raises(ConfigError, match=rf"site.json: {key}"):
            site_from_synth(path)
    path.write_text(json.dumps({"cameras": [{"name": "cam1"}], "links": [{"from": "cam1", "to": "cam2",
                                                                           "transit_s": "soon"}]}))
    with pytest.raises(ConfigError, match=r"site.json: links\[0\].transit_s"):
        site_from_synth(path)
    path.write_text("{not json")
    with pytest.raises(ConfigError, match=r"site\.json: cameras: not a synthetic world's site\.json"):
        site_from_synth(path)
    sided = {**base["links"][0], "from_side": "right", "to_side": "left"}
    path.write_text(json.dumps(base | {"links": [sided]}))
    assert site_from_synth(path)["transit"] == [{"a": "cam1", "b": "cam2", "min_s": 2.0, "a_side": "right",
                                                 "b_side": "left"}]
    path.write_text(json.dumps(base | {"links": [{**sided, "to_side": "up"}]}))
    with pytest.raises(ConfigError, match=r"site\.json: links\[0\]\.to_side: expected left or right, got 'up'"):
        site_from_synth(path)
    sides = tmp_path / "sides.yaml"
    sides.write_text("identity:\n  site:\n    cameras: [a, b]\n    transit: [{a: a, b: b, a_side: up}]\n")
    with pytest.raises(ConfigError, match="a_side"):
        load_config(sides)
