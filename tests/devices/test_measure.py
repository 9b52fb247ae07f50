import numpy as np
import pytest

from devices.measure import Entry, Settings, measure, warm_up


class FakeTime:
    """A clock that only advances when a fake inference runs."""

    def __init__(self):
        self.t = 0.0
        self.log = []

    def __call__(self):
        return self.t

    def runner(self, name, cost, noise=0.0, seed=0, slow_first=0):
        rng = np.random.default_rng(seed)
        calls = {"n": 0}

        def run():
            calls["n"] += 1
            extra = 5 * cost if calls["n"] <= slow_first else 0.0
            self.t += cost * (1 + noise * abs(rng.standard_normal())) + extra
            self.log.append(name)
        return run


def test_tight_entries_stop_on_the_ci_and_noisy_ones_on_the_budget():
    clock = FakeTime()
    quiet = Entry("quiet", clock.runner("quiet", 1e-3))
    noisy = Entry("noisy", clock.runner("noisy", 1e-3, noise=3.0, seed=1))
    done = []
    settings = Settings(tolerance=0.02, budget_s=0.5, min_runs=30, retry_unstable=False, gate=0)
    report = measure([quiet, noisy], settings, on_done=lambda e: done.append(e.id), clock=clock)
    assert quiet.summary.stable and quiet.summary.median_ms == pytest.approx(1.0)
    assert quiet.summary.n < 100  # stopped once the CI met the tolerance
    assert not noisy.summary.stable
    assert noisy.timed_s >= 0.5  # ran until its budget
    assert done == ["quiet", "noisy"]
    assert report.timed_s > 0.5 and report.rounds > 1


def test_rounds_interleave_entries():
    clock = FakeTime()
    a = Entry("a", clock.runner("a", 1e-3, noise=0.5, seed=2))
    b = Entry("b", clock.runner("b", 2e-3, noise=0.5, seed=3))
    measure([a, b], Settings(tolerance=0.001, budget_s=0.3, retry_unstable=False), clock=clock)
    # after warm-up both keep alternating: many switches between a and b, not one block each
    timed = clock.log[clock.log.index("b", clock.log.index("b")) :]
    switches = sum(x != y for x, y in zip(timed, timed[1:]))
    assert switches > 10


def test_window_bounds_how_many_entries_run_at_once():
    clock = FakeTime()
    entries = [Entry(i, clock.runner(i, 1e-3, noise=0.3, seed=i)) for i in range(4)]
    finished = []
    measure(entries, Settings(tolerance=1e-6, budget_s=0.05, window=2, retry_unstable=False),
            on_done=lambda e: finished.append(e.id), clock=clock)
    first_of_3 = clock.log.index(2)
    assert 0 in finished[:2] and 1 in finished[:2]
    assert set(clock.log[:first_of_3]) == {0, 1}


def test_warm_up_waits_until_timings_settle():
    clock = FakeTime()
    e = Entry("cold", clock.runner("cold", 1e-3, slow_first=8))
    warm_up(e, Settings(warmup_min_s=0.05), clock=clock)
    assert e.per_run == pytest.approx(1e-3)
    assert len(clock.log) > 8


def test_unstable_entries_are_measured_again_and_keep_the_better_result():
    clock = FakeTime()
    noisy = Entry("noisy", clock.runner("noisy", 1e-3, noise=3.0, seed=4))
    calls = []
    measure([noisy], Settings(tolerance=0.001, budget_s=0.2), on_done=lambda e: calls.append(e.summary), clock=clock)
    assert len(calls) == 2  # reported when it first finished, and again after the retry
    assert not calls[0].stable
    assert calls[1] is noisy.summary
    assert calls[1].ci_rel <= calls[0].ci_rel  # keeps the tighter of the two
    timed_runs = sum(1 for x in clock.log if x == "noisy")
    assert timed_runs > calls[0].n + len(noisy.samples)  # both passes ran


def test_canary_reports_drift():
    clock = FakeTime()
    speed = {"f": 1.0}

    def canary():
        clock.t += 1e-3 * speed["f"]
        speed["f"] *= 1.01

    a = Entry("a", clock.runner("a", 1e-3))
    report = measure([a], Settings(tolerance=1e-9, budget_s=0.2, retry_unstable=False), canary=canary, clock=clock)
    assert len(report.canary_ms) == report.rounds
    assert report.drift > 0.05


def test_batches_timed_while_the_host_is_disturbed_are_set_aside():
    clock = FakeTime()
    rng = np.random.default_rng(5)

    def factor():  # 50 ms episodes of 1.5x slowness, one in three
        return 1.5 if int(clock.t / 0.05) % 3 == 1 else 1.0

    def run():
        clock.t += 1e-3 * factor() * (1 + 0.01 * rng.random())

    gated = Entry("a", run)
    report = measure([gated], Settings(tolerance=1e-6, budget_s=0.3, retry_unstable=False, gate=0.1), clock=clock)
    assert report.set_aside > 0 and gated.set_aside == report.set_aside
    assert gated.summary.p90_ms < 1.011  # nothing of the slow episodes got in
    assert max(x for b in gated.batches for x in b) > 1.4e-3
    ungated = Entry("b", run)
    measure([ungated], Settings(tolerance=1e-6, budget_s=0.3, retry_unstable=False, gate=0), clock=clock)
    assert ungated.summary.p90_ms > 1.4


def test_lockstep_entries_span_the_same_rounds_and_finish_together():
    def run_with(lockstep):
        clock = FakeTime()
        quiet = Entry("quiet", clock.runner("quiet", 1e-3))
        noisy = Entry("noisy", clock.runner("noisy", 1e-3, noise=3.0, seed=1))
        rounds_at_done = {}
        state = {"rounds": 0}

        def on_round():
            state["rounds"] += 1

        settings = Settings(tolerance=0.02, budget_s=0.3, min_runs=30, retry_unstable=False, gate=0, window=1,
                            lockstep=lockstep)
        measure([quiet, noisy], settings, on_done=lambda e: rounds_at_done.setdefault(e.id, state["rounds"]),
                on_round=on_round, clock=clock)
        return quiet, noisy, rounds_at_done

    quiet, noisy, done = run_with(lockstep=False)
    assert len(quiet.batches) < len(noisy.batches)  # the quiet entry stopped early on its CI
    quiet, noisy, done = run_with(lockstep=True)
    assert len(quiet.batches) == len(noisy.batches)  # window ignored: both in every round, to the end
    assert done["quiet"] == done["noisy"]
    assert quiet.summary.stable and quiet.summary.median_ms == pytest.approx(1.0)


def test_lazy_entries_open_when_they_join_the_window_and_close_when_done():
    clock = FakeTime()
    log, open_now = [], set()

    def lazy(i):
        def open_():
            open_now.add(i)
            log.append(("open", i, len(open_now)))
            return clock.runner(i, 1e-3, noise=0.3, seed=i)

        def close():
            open_now.discard(i)
            log.append(("close", i))
        return Entry(i, open=open_, close=close)

    entries = [lazy(i) for i in range(5)]
    measure(entries, Settings(tolerance=1e-6, budget_s=0.02, window=2, retry_unstable=False), clock=clock)
    assert max(n for kind, *rest in log if kind == "open" for n in rest[1:]) == 2  # never more than the window
    assert {e.id for e in entries} == {i for kind, i, *_ in log if kind == "close"}
    assert open_now == set() and all(e.run is None for e in entries)
    assert all(e.summary is not None and e.summary.n > 0 for e in entries)


def test_lazy_entries_are_closed_when_the_measurement_is_interrupted():
    clock = FakeTime()
    closed = []

    def boom():
        raise KeyboardInterrupt

    entries = [Entry("ok", open=lambda: clock.runner("ok", 1e-3), close=lambda: closed.append("ok")),
               Entry("boom", open=lambda: boom, close=lambda: closed.append("boom"))]
    with pytest.raises(KeyboardInterrupt):
        measure(entries, Settings(budget_s=0.05), clock=clock)
    assert sorted(closed) == ["boom", "ok"]
