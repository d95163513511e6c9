"""The simulator's promises: reproducible, honest labels, and physics that agrees with them."""

from __future__ import annotations

import json
from functools import lru_cache

import numpy as np
import pytest

from sensorback.errors import InputError
from sensorback.sim import LABELS, SCENARIOS, Labels, read_labels, sidecar_path, simulate, write_labels
from conftest import SHARED


@lru_cache(maxsize=None)
def sim(scenario: str, seed: int = 0, rate: float = 50.0, **kw):
    return simulate(scenario, seed=seed, rate_hz=rate, **kw)


def day(scenario: str, seed: int = 0):
    # 10 Hz keeps a full 8 h day cheap; the plan and labels do not depend on the rate.
    return sim(scenario, seed, 10.0)


def undo(block) -> np.ndarray:
    """Specific force in sensor axes, from the calibration errors the simulator reports."""
    imu = block.meta["sim"]["imu"]
    c, o = np.array(imu["matrix"]), np.array(imu["offset_g"])
    return (block.acc.astype(np.float64) - o) @ np.linalg.inv(c).T


def rows_of(labels: Labels, label: str):
    return [r for r in labels.rows() if r[2] == label]


def span(block, a: float, b: float) -> slice:
    i0, i1 = np.searchsorted(block.t, [a, b])
    return slice(int(i0), int(i1))


def angle(u, v) -> float:
    c = np.dot(u, v) / np.linalg.norm(u) / np.linalg.norm(v)
    return float(np.degrees(np.arccos(np.clip(c, -1, 1))))


ALL = [("demo", 0, 50.0), ("demo", 3, 50.0), ("desk-day", 0, 10.0), ("standing-desk-day", 1, 10.0)]


# ------------------------------------------------------------------------------- basics
def test_scenarios_listed():
    assert {"desk-day", "standing-desk-day", "demo"} <= set(SCENARIOS)
    assert all(isinstance(v, str) and v for v in SCENARIOS.values())


def test_same_seed_same_output_and_different_seed_differs():
    b1, l1 = simulate("demo", seed=7, duration_s=120)
    b2, l2 = simulate("demo", seed=7, duration_s=120)
    assert np.array_equal(b1.t, b2.t) and np.array_equal(b1.acc, b2.acc)
    assert json.dumps(b1.meta) == json.dumps(b2.meta)
    assert list(l1.rows()) == list(l2.rows())
    b3, _ = simulate("demo", seed=8, duration_s=120)
    assert len(b3) != len(b1) or not np.array_equal(b1.acc, b3.acc)
    assert b3.meta["sim"]["mount_rotation"] != b1.meta["sim"]["mount_rotation"]


def test_labels_do_not_depend_on_rate():
    _, a = simulate("demo", seed=2, rate_hz=10)
    _, b = simulate("demo", seed=2, rate_hz=200)
    assert list(a.rows()) == list(b.rows())


@pytest.mark.parametrize("scenario,seed,rate", ALL)
def test_labels_cover_the_recording_contiguously(scenario, seed, rate):
    block, labels = sim(scenario, seed, rate)
    dur = block.meta["sim"]["duration_s"]
    assert labels.t_start[0] == 0.0 and labels.t_end[-1] == dur
    assert np.array_equal(labels.t_start[1:], labels.t_end[:-1])
    assert np.all(labels.t_end > labels.t_start)
    assert set(labels.label) <= set(LABELS)
    assert all(c for c in labels.source_code)
    assert block.t[0] >= 0.0 and block.t[-1] < dur
    assert np.all(np.diff(block.t) > 0)


def test_meta_is_plain_json_with_the_true_parameters():
    block, _ = sim("demo")
    meta = json.loads(json.dumps(block.meta))["sim"]
    for key in ("mount_rotation", "imu", "person", "walks", "slouches", "gaps", "gravity_sensor"):
        assert key in meta
    m = np.array(meta["mount_rotation"])
    assert np.allclose(m @ m.T, np.eye(3), atol=1e-9) and np.isclose(np.linalg.det(m), 1.0)
    for key in ("offset_g", "gain", "matrix", "noise_g", "clock_drift_ppm", "bits"):
        assert key in meta["imu"]
    assert 95 <= meta["person"]["cadence_spm"] <= 125
    assert -15 <= meta["person"]["sit_upright_rel_deg"] <= 5


# ----------------------------------------------------------------------------- contents
def test_demo_shows_every_state():
    block, labels = sim("demo")
    assert set(labels.label) == set(LABELS)
    assert abs(block.meta["sim"]["duration_s"] - 900) < 1
    assert max(s["depth_deg"] for s in block.meta["sim"]["slouches"]) > 20


@pytest.mark.parametrize("scenario", ["desk-day", "standing-desk-day"])
def test_days_contain_their_promised_states(scenario):
    block, labels = day(scenario)
    assert block.meta["sim"]["duration_s"] == 8 * 3600
    assert {"moving", "standing", "sitting", "slouching", "not_worn", "no_data", "transition"} <= set(labels.label)
    not_worn = labels.total_s("not_worn")
    assert 20 * 60 <= not_worn <= 40 * 60
    assert labels.total_s("moving") > 15 * 60
    if scenario == "standing-desk-day":
        assert labels.total_s("standing") > 90 * 60 and labels.total_s("sitting") > 90 * 60


def test_desk_day_has_sitting_stretches_above_and_below_30_minutes():
    _, labels = day("desk-day")
    stretches, start, end = [], None, None
    for a, b, lab, _ in labels.rows():
        if lab in ("sitting", "slouching") or (lab == "no_data" and start is not None):
            start, end = (a if start is None else start), b
        elif start is not None:
            stretches.append(end - start)
            start = None
    long_ = [s for s in stretches if s > 30 * 60]
    short = [s for s in stretches if 10 * 60 < s < 30 * 60]
    assert long_ and short


def test_slouch_depths_and_mild_leans_stay_out_of_the_ambiguous_band():
    depths, leans = [], []
    for scenario, seed, rate in ALL:
        block, labels = sim(scenario, seed, rate)
        depths += [s["depth_deg"] for s in block.meta["sim"]["slouches"]]
        leans += [int(c[5:-3]) for c in labels.source_code if c.startswith("lean_")]
    assert depths and all(25 <= d <= 45 for d in depths)
    assert leans and all(5 <= d <= 12 for d in leans)


# ------------------------------------------------------------------------------ physics
@pytest.mark.parametrize("scenario,seed,rate", ALL)
def test_still_periods_read_one_g(scenario, seed, rate):
    block, labels = sim(scenario, seed, rate)
    imu = block.meta["sim"]["imu"]
    f = undo(block)
    raw_tol = np.linalg.norm(imu["offset_g"]) + max(abs(g - 1) for g in imu["gain"]) + 0.03
    for a, b, lab, _ in labels.rows():
        if lab not in ("sitting", "standing", "lying", "not_worn") or b - a < 5:
            continue
        sl = span(block, a, b)
        assert abs(np.median(np.linalg.norm(f[sl], axis=1)) - 1) < 0.01
        assert abs(np.median(np.linalg.norm(block.acc[sl], axis=1)) - 1) < raw_tol


@pytest.mark.parametrize("scenario,seed,rate", ALL)
def test_slouches_are_over_20_degrees_from_the_preceding_upright_sitting(scenario, seed, rate):
    block, labels = sim(scenario, seed, rate)
    f = undo(block)
    rows = list(labels.rows())
    checked = 0
    for i, (a, b, lab, code) in enumerate(rows):
        if lab != "slouching" or b - a < 20:
            continue
        ref = next(r for r in reversed(rows[:i]) if r[2] == "sitting" and r[3].startswith("sit_"))
        up, sl = f[span(block, ref[0], ref[1])].mean(axis=0), f[span(block, a, b)].mean(axis=0)
        ang = angle(up, sl)
        assert 20 < ang < 50, (a, code, ang)
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("scenario,seed,rate", ALL)
def test_mild_leans_stay_under_17_degrees(scenario, seed, rate):
    block, labels = sim(scenario, seed, rate)
    f = undo(block)
    rows = list(labels.rows())
    for i, (a, b, lab, code) in enumerate(rows):
        if not code.startswith("lean_"):
            continue
        ref = next(r for r in reversed(rows[:i]) if r[3].startswith("sit_"))
        ang = angle(f[span(block, ref[0], ref[1])].mean(axis=0), f[span(block, a, b)].mean(axis=0))
        assert ang < 17, (a, code, ang)


@pytest.mark.parametrize("scenario,seed,rate", [("demo", 0, 50.0), ("demo", 5, 50.0), ("desk-day", 0, 10.0)])
def test_walking_has_a_spectral_peak_at_the_cadence(scenario, seed, rate):
    block, labels = sim(scenario, seed, rate)
    walks = block.meta["sim"]["walks"]
    f = undo(block)
    checked = 0
    for w in walks:
        if w["kind"] != "walk" or w["t_end"] - w["t_start"] < 20:
            continue
        sl = span(block, w["t_start"] + 3, w["t_end"] - 3)
        t, mag = block.t[sl], np.linalg.norm(f[sl], axis=1)
        grid = np.arange(t[0], t[-1], 1.0 / rate)
        x = np.interp(grid, t, mag)  # dropped packets: resample onto a regular grid
        x -= x.mean()
        spec = np.abs(np.fft.rfft(x * np.hanning(x.size)))
        freqs = np.fft.rfftfreq(x.size, 1.0 / rate)
        band = (freqs > 0.5) & (freqs < 4.0)
        peak = freqs[band][np.argmax(spec[band])]
        assert abs(peak * 60 - w["cadence_spm"]) < 0.06 * w["cadence_spm"], (w, peak * 60)
        checked += 1
    assert checked > 0


def test_transitions_have_a_vertical_pulse_and_forward_flexion():
    block, labels = sim("demo", 0, 50.0)
    f = undo(block)
    for a, b, lab, code in labels.rows():
        if code not in ("sit_to_stand", "stand_to_sit"):
            continue
        sl = span(block, a, b)
        mag = np.linalg.norm(f[sl], axis=1)
        assert 0.12 < np.max(np.abs(mag - 1)) < 0.9, (code, np.max(np.abs(mag - 1)))
        assert 1.5 <= b - a <= 3.0


@pytest.mark.parametrize("scenario,seed,rate", ALL)
def test_no_data_rows_have_no_samples_and_not_worn_is_still(scenario, seed, rate):
    block, labels = sim(scenario, seed, rate)
    noise = max(block.meta["sim"]["imu"]["noise_g"])
    for a, b, lab, _ in labels.rows():
        sl = span(block, a, b)
        if lab == "no_data":
            assert sl.stop == sl.start
        elif lab == "not_worn":
            assert np.all(block.acc[sl].std(axis=0) < 1.5 * noise + 0.002)


def _second_sd(block, a, b):
    """Mean within-second SD (posture drift over a whole row is not movement)."""
    x = block.acc[span(block, a, b)]
    n = int(round(block.rate_hz))
    x = x[: len(x) // n * n].reshape(-1, n, 3)
    return float(x.std(axis=1).sum(axis=1).mean())


def test_walking_is_far_more_variable_than_sitting():
    block, labels = sim("demo", 0, 50.0)
    sd = {lab: np.mean([_second_sd(block, a, b) for a, b, _, _ in rows_of(labels, lab) if b - a >= 2])
          for lab in ("moving", "sitting", "not_worn")}
    assert sd["moving"] > 5 * sd["sitting"] and sd["sitting"] > sd["not_worn"]


def test_gravity_in_meta_matches_the_signal():
    block, labels = sim("demo", 1, 50.0)
    f = undo(block)
    g = block.meta["sim"]["gravity_sensor"]
    a, b, _, _ = next(r for r in labels.rows() if r[3] == "stand_desk")
    assert angle(f[span(block, a, b)].mean(axis=0), g["standing"]) < 4
    for d in block.meta["sim"]["desk"]:
        assert angle(f[span(block, d["t_start"], d["t_end"])].mean(axis=0), d["gravity_sensor"]) < 1


# ------------------------------------------------------------------------- sensor/timing
@pytest.mark.parametrize("rate", [10.0, 200.0])
def test_extreme_rates_work(rate):
    block, labels = sim("demo", 4, rate)
    m = block.meta["sim"]
    lost = 1 - len(block) / m["samples"]["scheduled"]
    assert 0.003 < m["samples"]["lost_in_packets"] / m["samples"]["scheduled"] < 0.04
    assert lost < 0.1
    dt = np.diff(block.t)
    period = 1 / (rate * (1 + m["imu"]["clock_drift_ppm"] * 1e-6))
    assert np.all(dt > 0) and abs(np.median(dt) - period) < 0.3 * period
    assert block.rate_hz == rate and block.device == "simulator"


def test_clock_drift_is_visible_over_a_day():
    block, _ = day("desk-day")
    m = block.meta["sim"]
    n = m["samples"]["scheduled"]
    assert n != 10 * 8 * 3600 and abs(n / (10 * 8 * 3600) - 1 - m["imu"]["clock_drift_ppm"] * 1e-6) < 1e-5


def test_ideal_sensor_and_identity_mount_give_the_trunk_frame():
    block, labels = simulate("demo", seed=1, rate_hz=50, ideal_sensor=True, mount="identity", gaps=False)
    assert "no_data" not in set(labels.label)
    assert len(block) == block.meta["sim"]["samples"]["scheduled"]
    p = block.meta["sim"]["person"]
    a, b, _, _ = next(r for r in labels.rows() if r[3] == "stand_desk")
    g = block.acc[span(block, a, b)].astype(float).mean(axis=0)
    flex = np.degrees(np.arcsin(-g[0] / np.linalg.norm(g)))
    assert abs(flex - p["stand_flexion_deg"]) < 2.5


def test_duration_override_cuts_or_extends():
    b, l = simulate("desk-day", seed=0, rate_hz=10, duration_s=900)
    assert l.t_end[-1] == 900 and b.t[-1] < 900
    b, l = simulate("demo", seed=0, rate_hz=10, duration_s=900)
    assert l.t_end[-1] == 900 and b.t[-1] > 850


def test_bad_arguments_are_user_errors():
    with pytest.raises(InputError, match="unknown scenario"):
        simulate("nap")
    with pytest.raises(InputError, match="rate_hz"):
        simulate("demo", rate_hz=5)
    with pytest.raises(InputError, match="duration_s"):
        simulate("demo", duration_s=-3)
    with pytest.raises(InputError, match="seed"):
        simulate("demo", seed=-1)
    with pytest.raises(TypeError):
        simulate("demo", colour="blue")


# ------------------------------------------------------------------------------ sidecar
def test_sidecar_round_trip_and_path(tmp_path):
    _, labels = sim("demo")
    path = sidecar_path(tmp_path / "demo.csv.gz")
    assert path.name == "demo.labels.csv"
    assert sidecar_path("out/day.csv").name == "day.labels.csv"
    write_labels(labels, path)
    assert path.read_text().splitlines()[0] == "t_start,t_end,label,source_code"
    back = read_labels(path)
    assert list(back.rows()) == list(labels.rows())


def test_read_labels_names_the_bad_line(tmp_path):
    p = tmp_path / "x.labels.csv"
    p.write_text("t_start,t_end,label,source_code\n0.000,1.000,sitting,sit\n1.000,2.000,dancing,x\n")
    with pytest.raises(InputError, match=r"x.labels.csv:3: unknown label 'dancing'"):
        read_labels(p)


def test_read_labels_reads_the_real_data_format():
    real = sorted((SHARED / "realdata" / "chest_casale").glob("*.labels.csv"))
    if not real:
        pytest.skip("real data not available")
    labels = read_labels(real[0])
    assert len(labels) > 0 and set(labels.label) <= set(LABELS)


def test_labels_at_and_tiny_recordings():
    block, labels = simulate("demo", seed=1, rate_hz=13.7, duration_s=2.5)
    assert list(labels.rows()) == [(0.0, 2.5, "moving", "walk")]
    assert 25 <= len(block) <= 36
    assert list(labels.at([0.0, 2.4, 2.5, -1.0])) == ["moving", "moving", "", ""]


# ------------------------------------------------------------------ made piece by piece
@pytest.mark.parametrize("scenario,rate,kw,pieces", [
    # a take-off, a desk, a put-on that moves the mount, walks, a radio gap; 7 cuts into all of them
    ("demo", 10.0, {}, (7, 1000, 4099)),
    ("stuck-sensor", 10.0, {"duration_s": 20000}, (4099, 65536)),  # a stuck IMU too
    ("exercise-bike", 200.0, {"duration_s": 300, "ideal_sensor": True, "mount": "identity"}, (997,)),
])
def test_pieces_give_the_recording_made_in_one_piece(scenario, rate, kw, pieces):
    """simulate_stream makes the samples a piece at a time (how the command line writes a week);
    wherever the pieces end, the recording is simulate()'s, bit for bit."""
    from sensorback.sim import simulate_stream

    whole, labels = simulate(scenario, seed=2, rate_hz=rate, **kw)
    for piece in pieces:
        rec = simulate_stream(scenario, seed=2, rate_hz=rate, **kw)
        assert rec.axis.n > piece  # more than one piece
        blocks = list(rec.blocks(piece))
        assert len(blocks) > 1 and rec.n_samples == len(whole)
        assert np.array_equal(np.concatenate([b.t for b in blocks]), whole.t)
        assert np.array_equal(np.concatenate([b.acc for b in blocks]), whole.acc)
        assert rec.meta == whole.meta["sim"] and rec.start_time == whole.start_time
        assert rec.duration_s == whole.duration_s
        assert list(rec.labels.rows()) == list(labels.rows())


def test_the_start_is_a_parameter_the_samples_do_not_depend_on():
    """start_time: Unix seconds or a datetime, exactly; a date, that day at DAY_START_TIME local time
    plus the seed's minutes (the default day's minutes after 08:00 UTC). Only the start moves."""
    from datetime import date, datetime, timedelta, timezone

    from sensorback.sim.simulate import DAY_START, DAY_START_TIME

    default, _ = simulate("demo", seed=5, duration_s=30)
    minutes = default.start_time - DAY_START
    assert 0.0 <= minutes <= 1800.0
    at = datetime(2025, 1, 6, 7, 15, tzinfo=timezone(timedelta(hours=1)))
    for start, expected in [(at, at.timestamp()), (at.timestamp(), at.timestamp()),
                            (date(2025, 1, 6), datetime.combine(date(2025, 1, 6), DAY_START_TIME).timestamp() + minutes)]:
        block, _ = simulate("demo", seed=5, duration_s=30, start_time=start)
        assert block.start_time == pytest.approx(expected, abs=1e-6)
        assert np.array_equal(block.t, default.t) and np.array_equal(block.acc, default.acc)
    with pytest.raises(InputError, match="start_time: must be Unix seconds, a datetime or a date"):
        simulate("demo", seed=5, duration_s=30, start_time="Monday")


def test_the_band_noise_of_a_whole_recording_comes_in_pieces_exactly():
    from sensorback.sim.chunked import BandNoise
    from sensorback.sim.wearer import band_noise

    n, fs = 200_003, 50.003
    for lo, hi in [(0.1, 0.5), (1.0, 6.0)]:
        ref_rng, rng = np.random.default_rng(5), np.random.default_rng(5)
        ref = band_noise(ref_rng, n, fs, lo, hi)
        noise = BandNoise(rng, n, fs, lo, hi, leaf=1000)  # numpy's pairwise sum, in 256 leaves
        assert rng.random() == ref_rng.random()  # the generator is left where band_noise leaves it
        cuts = [0, 1, 2, 999, 50_000, 50_001, 123_456, n]
        got = np.concatenate([noise.take(b - a) for a, b in zip(cuts, cuts[1:])])
        assert np.array_equal(got, ref)


def test_running_mean_in_pieces_is_uniform_filter1d():
    from scipy.ndimage import uniform_filter1d
    from sensorback.sim.chunked import RunningMean

    rng = np.random.default_rng(1)
    n = 30_000
    steps = np.sort(rng.integers(0, n, 60))
    x = rng.uniform(0, 1.3, (61, 4))[np.searchsorted(steps, np.arange(n), side="right")]
    for size in (1, 10, 49, 50):
        ref = uniform_filter1d(x, size=size, axis=0, mode="nearest")
        mean = RunningMean(lambda idx: x[idx], n, size)
        cuts = [0, 1, 2, 17, 10_000, n - 1, n]
        assert np.array_equal(np.concatenate([mean.take(a, b) for a, b in zip(cuts, cuts[1:])]), ref)


def test_sample_instants_and_their_search_need_no_array():
    from sensorback.sim.chunked import TauAxis, count_le, piece_bounds

    axis = TauAxis(100_001, 50.0031)
    tau = np.arange(axis.n, dtype=np.float64) / axis.rate
    assert np.array_equal(axis.span(70, 5000), tau[70:5000])
    for x in [-1.0, 0.0, tau[1], tau[1] + 1e-12, 777.7, tau[-1], tau[-1] + 1e-9, 1e9]:
        assert axis.left(x) == np.searchsorted(tau, x, side="left")
    edges = np.sort(np.random.default_rng(0).uniform(-10, 2100, 500))
    assert np.array_equal(count_le(edges, tau[3:90_000]), np.searchsorted(edges, tau[3:90_000], side="right"))
    bounds = list(piece_bounds(100, 10, [(18, 25), (24, 31), (59, 61), (0, 3)]))
    assert bounds[0] == (0, 10) and (10, 18) in bounds and (18, 31) in bounds and bounds[-1][1] == 100
    assert all(b[0] == a[1] for a, b in zip(bounds, bounds[1:]))


def test_row_products_round_as_in_one_block():
    """numpy hands (k, 3) @ (3, 3) to BLAS: a one-row block takes another route with other rounding."""
    from scipy.spatial.transform import Rotation
    from sensorback.sim.chunked import rows_matmul

    rng = np.random.default_rng(3)
    m = Rotation.from_quat(rng.normal(size=4)).as_matrix().T
    x = rng.normal(size=(100_000, 3))
    whole = x @ m
    assert np.array_equal(rows_matmul(x, m), whole)
    assert all(np.array_equal(rows_matmul(x[j:j + 1], m), whole[j:j + 1]) for j in range(0, 100_000, 997))
    assert all(np.array_equal(rows_matmul(x[j:j + k], m), whole[j:j + k]) for j, k in [(1, 2), (5, 3), (77, 40_000)])


def test_trunk_rotation_shortcut_matches_scipy():
    from sensorback.sim.geometry import trunk_rotation, world_to_trunk

    rng = np.random.default_rng(0)
    th, ph, ps = rng.uniform(-95, 95, size=(3, 50))
    v = rng.normal(size=(50, 3))
    assert np.allclose(world_to_trunk(th, ph, ps, v), trunk_rotation(th, ph, ps).apply(v, inverse=True))
    # Forward flexion tips the trunk's up axis toward the walking direction.
    assert np.allclose(trunk_rotation(30, 0, 0).apply([0, 0, 1]), [[0.5, 0, np.sqrt(3) / 2]])
