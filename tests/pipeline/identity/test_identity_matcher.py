"""Online matcher: site constraints, joint assignment, gate, explanations, refine/switch."""

from __future__ import annotations

import numpy as np
import pytest

from streid.pipeline.identity.cluster import cluster_tracklets
from streid.pipeline.identity.config import SiteConfig, TransitWindow
from streid.pipeline.identity.constraints import Constraints
from streid.pipeline.identity.matcher import OnlineMatcher
from streid.pipeline.identity.records import TrackletObs

D = 16


def unit(i: int, j: int | None = None, w: float = 0.0) -> np.ndarray:
    """Basis vector i, optionally mixed with basis j at weight w (then normalised)."""
    v = np.zeros(D, np.float32)
    v[i] = 1.0
    if j is not None:
        v[j] = w
    return v / np.linalg.norm(v)


def site(**kw: object) -> Constraints:
    return Constraints.from_site(SiteConfig(cameras=["a", "b", "c"], **kw))


def test_same_person_in_two_non_overlapping_cameras_at_once_is_split() -> None:
    m = OnlineMatcher(D, site())
    first = m.update([TrackletObs("a", 1, 0.0, 10.0, unit(0))])[0]
    second = m.update([TrackletObs("b", 1, 5.0, 8.0, unit(0))])[0]
    assert first.kind == "new" and second.kind == "new"
    assert first.global_id != second.global_id


def test_overlapping_cameras_may_share_a_person_at_once() -> None:
    m = OnlineMatcher(D, site(overlaps=[("a", "b")]))
    first = m.update([TrackletObs("a", 1, 0.0, 10.0, unit(0))])[0]
    second = m.update([TrackletObs("b", 1, 5.0, 8.0, unit(0))])[0]
    assert second.kind == "match" and second.global_id == first.global_id


def test_reentry_in_the_same_camera_joins() -> None:
    m = OnlineMatcher(D)  # defaults: no site
    first = m.update([TrackletObs("a", 1, 0.0, 10.0, unit(0))])[0]
    again = m.update([TrackletObs("a", 7, 300.0, 310.0, unit(0, 1, 0.2))])[0]
    assert again.global_id == first.global_id and again.kind == "match"


@pytest.mark.parametrize(("gap", "joined"), [(2.0, False), (10.0, True), (100.0, False)])
def test_transit_window(gap: float, joined: bool) -> None:
    """a->b takes 5..60 s: faster is forbidden, slower is penalised past the gate."""
    m = OnlineMatcher(D, site(transit=[TransitWindow(a="a", b="b", min_s=5, max_s=60)]), gate=0.35)
    first = m.update([TrackletObs("a", 1, 0.0, 10.0, unit(0))])[0]
    later = m.update([TrackletObs("b", 1, 10.0 + gap, 20.0 + gap, unit(0, 1, 0.1))])[0]
    assert (later.global_id == first.global_id) is joined


def test_transit_limits_only_apply_to_listed_pairs() -> None:
    m = OnlineMatcher(D, site(transit=[TransitWindow(a="a", b="b", min_s=5, max_s=60)]))
    first = m.update([TrackletObs("a", 1, 0.0, 10.0, unit(0))])[0]
    later = m.update([TrackletObs("c", 1, 10.5, 20.0, unit(0))])[0]
    assert later.global_id == first.global_id


def test_constraints_defaults_refuse_any_overlap_and_penalise_a_slow_transit() -> None:
    """``Constraints()`` (a matcher without a site) and a window without an explicit penalty."""
    bare = Constraints()
    assert not bare.compatible(("a", 0.0, 10.0), ("b", 9.9, 12.0))  # no tolerance: a tenth of a second is at once
    assert bare.compatible(("a", 0.0, 10.0), ("b", 10.0, 12.0))
    timed = Constraints(windows={frozenset(("a", "b")): (5.0, 60.0)})
    assert timed.against(("b", 12.0, 20.0), [("a", 0.0, 10.0)]) is None  # faster than the minimum
    assert timed.against(("b", 30.0, 40.0), [("a", 0.0, 10.0)]) == 0.0
    assert timed.against(("b", 100.0, 110.0), [("a", 0.0, 10.0)]) == 0.5  # slower than the maximum


def test_one_pass_per_camera_refuses_a_second_visit_but_keeps_a_broken_track() -> None:
    """With ``max_pass_s``, a look-alike who comes into a camera long after someone left it is someone else,
    online and offline; a track broken for a moment (both pieces inside one pass) still joins. Without the rule the
    same look-alike joins: the rule, not the distance, is what keeps them apart."""
    for max_pass, joined in ((None, True), (20.0, False)):
        m = OnlineMatcher(D, site(max_pass_s=max_pass))
        first = m.update([TrackletObs("a", 1, 0.0, 8.0, unit(0))])[0]
        broken = m.update([TrackletObs("a", 2, 10.0, 15.0, unit(0, 1, 0.05))])[0]  # spans 0-15: one pass
        back = m.update([TrackletObs("a", 3, 40.0, 45.0, unit(0, 1, 0.05))])[0]  # spans 0-45: a second pass
        assert broken.global_id == first.global_id
        assert (back.global_id == first.global_id) is joined
        rules = Constraints(max_pass_s=max_pass)
        labels = cluster_tracklets([TrackletObs("a", 1, 0.0, 8.0, unit(0)), TrackletObs("a", 2, 10.0, 15.0, unit(0)),
                                    TrackletObs("a", 3, 40.0, 45.0, unit(0))], rules, threshold=0.3, method="dense")
        assert labels[0] == labels[1] and bool(labels[2] == labels[0]) is joined
    assert Constraints(max_pass_s=20.0).compatible(("a", 40.0, 45.0), ("b", 0.0, 8.0))  # other cameras: no limit


def _two_identities(m: OnlineMatcher) -> tuple[int, int]:
    a, b = m.update([TrackletObs("a", 1, 0.0, 1.0, unit(0)), TrackletObs("a", 2, 0.0, 1.0, unit(1))])
    return a.global_id, b.global_id


def plane(deg: float) -> np.ndarray:
    """Unit vector at ``deg`` degrees in the e0-e1 plane."""
    v = np.zeros(D, np.float32)
    v[0], v[1] = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return v


def test_hungarian_beats_greedy() -> None:
    """A at 0 deg, B at 60 deg; t1 at 20 deg (nearest A, B also in gate), t2 at -25 deg (only A in gate).

    Greedy (smallest distance first) gives t1 A and leaves t2 new: cost 0.060 + gate 0.3 = 0.360.
    Joint assignment gives t1 B (0.234) and t2 A (0.094): cost 0.328, and no needless new identity.
    """
    m = OnlineMatcher(D, gate=0.3)
    ida, idb = (d.global_id for d in m.update([TrackletObs("a", 1, 0.0, 1.0, plane(0)),
                                                TrackletObs("a", 2, 0.0, 1.0, plane(60))]))
    assert ida != idb
    d1, d2 = m.update([TrackletObs("b", 1, 5.0, 6.0, plane(20)), TrackletObs("b", 2, 5.0, 6.0, plane(-25))])
    assert (d1.global_id, d2.global_id) == (idb, ida)
    assert d1.kind == d2.kind == "match"
    assert d1.distance == pytest.approx(1 - np.cos(np.radians(40)), abs=1e-5)
    assert d1.runner_up_id == ida and d1.runner_up_distance == pytest.approx(1 - np.cos(np.radians(20)), abs=1e-5)
    greedy_cost = (1 - np.cos(np.radians(20))) + 0.3
    assert d1.distance + d2.distance < greedy_cost


def test_gate_creates_new_identity_and_explains() -> None:
    m = OnlineMatcher(D, gate=0.3)
    _two_identities(m)
    d = m.update([TrackletObs("b", 1, 5.0, 6.0, unit(5))])[0]
    assert d.kind == "new" and d.global_id not in (1, 2)
    assert d.distance is None and d.runner_up_id in (1, 2) and d.runner_up_distance == pytest.approx(1.0)


def test_update_refines_and_switches_only_when_clearly_better() -> None:
    m = OnlineMatcher(D, gate=0.35, switch_margin=0.1)
    ida, idb = _two_identities(m)
    m.update([TrackletObs("a", 3, 0.0, 1.0, unit(3))])  # identity C
    t = m.update([TrackletObs("b", 9, 5.0, 6.0, unit(0, 1, 0.3))])[0]
    assert t.global_id == ida
    refined = m.update([TrackletObs("b", 9, 5.0, 7.0, unit(0, 1, 0.4))])[0]
    assert refined.kind == "refine" and refined.global_id == ida
    switched = m.update([TrackletObs("b", 9, 5.0, 8.0, unit(1, 0, 0.05))])[0]
    assert switched.kind == "switch" and switched.global_id == idb
    assert m.global_id(("b", 9)) == idb


def test_exemplars_stay_bounded() -> None:
    m = OnlineMatcher(D, max_exemplars=3, gate=0.5)
    rng = np.random.default_rng(0)
    for k in range(20):
        v = unit(0) + 0.2 * rng.standard_normal(D).astype(np.float32)
        m.update([TrackletObs("a", k, float(k * 10), float(k * 10 + 5), v / np.linalg.norm(v))])
    assert len(m.identities) == 1
    assert m.gallery.valid[0].sum() == 3 and len(m.identities[0].owners) == 3
    assert np.linalg.norm(m.prototype(1)) == pytest.approx(1.0, abs=1e-5)


def test_from_pipeline_tracklet() -> None:
    from streid.pipeline.identity.records import from_tracklet
    from streid.records import Tracklet, TrackletState

    tr = Tracklet("cam1", 4, TrackletState.UPDATE, np.array([10, 20, 30]), np.array([1.0, 2.0, 3.0]),
                  np.zeros((3, 8, 4, 3), np.uint8), np.zeros((3, 4), np.float32), embedding=2 * unit(3))
    obs = from_tracklet(tr, t_offset=100.0)
    assert (obs.key, obs.t_start, obs.t_end) == (("cam1", 4), 101.0, 103.0)
    assert np.linalg.norm(obs.embedding) == pytest.approx(1.0)
    tr.embedding = None
    with pytest.raises(ValueError, match="cam1:4"):
        from_tracklet(tr)


def test_global_ids_count_from_one() -> None:
    """The pipeline builds its matcher without ``first_id``: the first person of a run is G1."""
    m = OnlineMatcher(D)
    assert [d.global_id for d in m.update([TrackletObs("a", k, 0.0, 1.0, unit(k)) for k in range(3)])] == [1, 2, 3]


def test_gallery_grows_past_its_first_capacity() -> None:
    """More identities than the gallery's first 64 rows: every one keeps its exemplar and is found again."""
    dim, n = 80, 70
    m = OnlineMatcher(dim, gate=0.3)
    basis = np.eye(dim, dtype=np.float32)
    first = m.update([TrackletObs("a", k, 0.0, 1.0, basis[k]) for k in range(n)])
    assert [d.kind for d in first] == ["new"] * n and len({d.global_id for d in first}) == n
    again = m.update([TrackletObs("a", 100 + k, 50.0, 51.0, basis[k]) for k in range(n)])  # re-entries
    assert [d.global_id for d in again] == [d.global_id for d in first]
    assert all(d.kind == "match" and d.distance == pytest.approx(0.0, abs=1e-6) for d in again)


def test_restore_puts_tracklets_back_under_their_stored_ids() -> None:
    m = OnlineMatcher(D, gate=0.3, first_id=5)
    m.restore(TrackletObs("a", 1, 0.0, 1.0, unit(0)), 5)  # the first id itself is allowed
    m.restore(TrackletObs("a", 2, 0.0, 1.0, unit(1)), 8)  # ids 6 and 7 exist, empty (their tracklets expired)
    assert (m.global_id(("a", 1)), m.global_id(("a", 2))) == (5, 8)
    later = m.update([TrackletObs("b", 1, 20.0, 21.0, unit(1)), TrackletObs("b", 2, 20.0, 21.0, unit(0)),
                      TrackletObs("b", 3, 20.0, 21.0, unit(2))])
    assert [(d.global_id, d.kind) for d in later] == [(8, "match"), (5, "match"), (9, "new")]
    with pytest.raises(ValueError, match=r"^global id 4 is below this matcher's first id 5$"):
        m.restore(TrackletObs("a", 3, 0.0, 1.0, unit(3)), 4)


def test_a_track_still_in_view_keeps_its_person_out_of_other_cameras() -> None:
    """``extend``: the site rules judge a new tracklet against the track's whole visible life."""
    m = OnlineMatcher(D, gate=0.3)  # no site: no overlapping cameras
    gid = m.update([TrackletObs("a", 1, 0.0, 1.0, unit(0))])[0].global_id
    m.extend(("a", 1), 10.0)  # the person is still in camera a until t=10
    m.extend(("a", 1), 2.0)  # an older time never shortens it
    m.extend(("z", 9), 3.0)  # an unknown track: nothing to extend
    at_once = m.update([TrackletObs("b", 1, 5.0, 6.0, unit(0, 1, 0.3))])[0]  # well within the gate
    assert at_once.kind == "new" and at_once.global_id != gid
    after = m.update([TrackletObs("c", 1, 12.0, 13.0, unit(0))])[0]
    assert after.kind == "match" and after.global_id == gid


@pytest.mark.parametrize(("dx_a", "dx_b", "joined"), [
    (0.5, 0.4, True),  # walked right out of a, came into b from its left and walked on: the route
    (-0.5, 0.4, False),  # walked left in a: away from b
    (0.5, -0.4, False),  # walked toward b's left side, where people from a come in: came from elsewhere
    (-0.1, -0.1, True),  # hardly moved sideways (toward or away from the camera): not judged
    (None, 0.4, True),  # unknown (an older edge, a store from before): not judged
])
def test_side_rule(dx_a: float | None, dx_b: float | None, joined: bool) -> None:
    """a's right side leads to b, whose left side leads back to a: a person seen in a then in b must have walked
    toward a's right side and away from b's left one; a track that clearly did not is someone else."""
    walk = TransitWindow(a="a", b="b", min_s=1, a_side="right", b_side="left")
    rules = site(transit=[walk])
    m = OnlineMatcher(D, rules, gate=0.35)
    first = m.update([TrackletObs("a", 1, 0.0, 10.0, unit(0), dx_a)])[0]
    later = m.update([TrackletObs("b", 1, 12.0, 20.0, unit(0, 1, 0.1), dx_b)])[0]
    assert (later.global_id == first.global_id) is joined
    # the other way round (b first, then a) the same walks are mirrored; the offline clustering agrees
    back = [TrackletObs("b", 1, 0.0, 10.0, unit(0), None if dx_b is None else -dx_b),
            TrackletObs("a", 1, 12.0, 20.0, unit(0, 1, 0.1), None if dx_a is None else -dx_a)]
    labels = cluster_tracklets(back, rules, threshold=0.35, method="dense")
    assert bool(labels[0] == labels[1]) is joined
    assert rules.compatible(back[0].span, back[1].span) is joined
    assert rules.compatible(back[0].span[:3], back[1].span[:3])  # without dx: only the other rules


def test_side_rule_leaves_cameras_without_sides_and_at_once_alone() -> None:
    rules = site(transit=[TransitWindow(a="a", b="b", a_side="right")], overlaps=[("a", "c")])
    assert rules.compatible(("a", 0.0, 5.0, -0.9), ("c", 6.0, 9.0, 0.9))  # no sides named between a and c
    assert rules.compatible(("a", 0.0, 5.0, -0.9), ("c", 2.0, 9.0, 0.9))  # overlapping cameras, at once
    assert rules.compatible(("a", 0.0, 5.0, 0.9), ("b", 6.0, 9.0, 0.9))  # b's side not named: only a judged
    assert not rules.compatible(("a", 0.0, 5.0, -0.9), ("b", 6.0, 9.0, 0.9))
    assert rules.compatible(("a", 0.0, 5.0, -0.9), ("a", 6.0, 9.0, 0.9))  # one camera: the rule is for walks
