"""The behaviour model's fatigue (issue 17): opt-outs that grow with the messages a user got,
an opted-out user unreachable on the channel, and opt-out coefficients fitted from history."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from journeylab import stats
from journeylab.errors import JourneyDefinitionError
from journeylab.model import Action, Delay, Journey, Push
from journeylab.sim import BehaviourModel, OptOut, simulate
from journeylab.sim.experiments import sweep

START = pd.Timestamp("2026-10-01", tz="UTC")
END = pd.Timestamp("2026-10-09", tz="UTC")


def _daily(pushes: int) -> Journey:
    """Every day's visit enters; ``pushes`` pushes an hour apart."""
    j = Journey("Daily", id="daily", reentry=True)
    j.add(Action(id="visit", event="Visit"))
    prev, port = "visit", "yes"
    for k in range(pushes):
        j.then(prev, port, Push(id=f"p{k}"))
        if k < pushes - 1:
            j.then(f"p{k}", "next", Delay(id=f"w{k}", duration=dt.timedelta(hours=1)))
            prev, port = f"w{k}", "next"
    return j


def _cohort(n: int = 300) -> tuple[pd.DataFrame, pd.DataFrame]:
    users = [f"u{i:03d}" for i in range(n)]
    prof = pd.DataFrame({"user_id": users, "push_token": "t"})
    ev = pd.DataFrame(
        [
            (u, START + pd.Timedelta(days=d, hours=9, minutes=i % 60), "Visit")
            for i, u in enumerate(users)
            for d in range(7)
        ],
        columns=["user_id", "ts", "event"],
    )
    return prof, ev.sort_values("ts", kind="stable", ignore_index=True)


FATIGUE = BehaviourModel.default().with_fatigue(["push"], intercept=-5.0, per_day=0.9, per_week=0.1)


def test_the_opt_out_probability_grows_with_the_messages_of_the_day_and_week():
    f = OptOut(intercept=-5.0, per_day=0.9, per_week=0.1)
    p = [f.probability(k, k) for k in range(1, 6)]
    assert all(a < b for a, b in zip(p, p[1:], strict=False))
    assert f.probability(1, 1) == pytest.approx(1 / (1 + np.exp(5.0 - 1.0)))
    with pytest.raises(JourneyDefinitionError, match=r"\$\.opt_out\.per_day"):
        OptOut(per_day=float("nan"))


def test_more_messages_more_opt_outs_and_opted_out_users_get_no_more_pushes():
    coh = _cohort()
    runs = {k: simulate(_daily(k), coh, START, END, seed=3, behaviour=FATIGUE) for k in (1, 3)}
    unsubs = {k: int(r.journey_stats["unsubscribes"]) for k, r in runs.items()}
    assert 0 < unsubs[1] < unsubs[3]
    for r in runs.values():
        t = r.trace
        out = t[t["event"] == "unsubscribed"].groupby("user_id", observed=True)["ts"].min()
        assert (t[t["event"] == "unsubscribed"]["detail"].astype(str) == "push").all()
        after = t.merge(out.rename("opted").reset_index(), on="user_id")
        after = after[
            after["ts"] > after["opted"] + pd.Timedelta(minutes=1)
        ]  # the opt-out arrives 1 min after the send
        assert not (after["event"] == "sent").any()  # nothing reaches them on push again
        discarded = after[after["event"] == "discarded"]["detail"].astype(str)
        assert len(discarded) > 0 and (discarded == "consent").all()  # the consent opt-out of push
    # without fatigue nobody opts out and every push is sent
    plain = simulate(_daily(3), coh, START, END, seed=3)
    assert int(plain.journey_stats["unsubscribes"]) == 0
    assert not (plain.trace["event"] == "discarded").any()


def test_a_sweep_shows_the_cost_of_messaging_more():
    def pushes(d, k):
        return _daily(k).definition

    s = sweep(_daily(1), _cohort(120), START, END, values=[1, 2, 4], variant=pushes, replications=2, behaviour=FATIGUE)
    u = s.query("scope == 'journey' and stat == 'unsubscribes_per_user'").set_index("value")["mean"]
    m = s.query("scope == 'journey' and stat == 'messages_per_user'").set_index("value")["mean"]
    assert u[1] < u[2] < u[4]
    assert m[4] < 4 * m[1]  # opted-out users stop receiving: four pushes a day are not four times the sends


def test_opt_out_coefficients_are_fitted_from_a_history_with_an_unsubscribed_column():
    rng = np.random.default_rng(0)
    truth = OptOut(intercept=-4.0, per_day=0.6, per_week=0.08)
    rows = []
    for u in range(3000):
        t0 = START.value // 10**9
        times = np.sort(t0 + rng.integers(0, 7 * 86400, rng.integers(1, 12)))
        for i, ts in enumerate(times):
            n_day = int(np.sum(times[: i + 1] > ts - 86400))
            n_week = i + 1
            out = rng.random() < truth.probability(n_day, n_week)
            rows.append((f"u{u}", "push", pd.Timestamp(int(ts), unit="s", tz="UTC"), out))
            if out:
                break  # an opted-out user gets no more messages
    hist = pd.DataFrame(rows, columns=["user_id", "channel", "ts", "unsubscribed"])
    fit = BehaviourModel.fit_opt_out(hist)["push"]
    assert fit.intercept == pytest.approx(truth.intercept, abs=0.35)
    assert fit.per_day == pytest.approx(truth.per_day, abs=0.15)
    assert fit.per_week == pytest.approx(truth.per_week, abs=0.08)
    with pytest.raises(JourneyDefinitionError, match="lacks columns"):
        BehaviourModel.fit_opt_out(hist.drop(columns=["user_id"]))
    # BehaviourModel.fit fits the opt-outs too when the history has the columns
    full = hist.assign(delivered=True, viewed_ts=pd.NaT, clicked_ts=pd.NaT)
    model = BehaviourModel.fit(full)
    assert model.channels["push"].opt_out == fit and model.fatigue


def test_the_trace_statistics_count_opt_outs_per_enrollment():
    r = simulate(_daily(3), _cohort(60), START, END, seed=1, behaviour=FATIGUE)
    en = stats.enrollments(r.trace, "daily")
    assert en["unsubscribes"].sum() == (r.trace["event"] == "unsubscribed").sum()
    assert r.journey_stats["unsubscribes_per_user"] == pytest.approx(en["unsubscribes"].sum() / len(en))


def test_the_reference_driver_replays_a_fatigue_runs_opt_outs():
    from journeylab.sim import reference
    from journeylab.trace import trace_rows

    coh = _cohort(40)
    res = simulate(_daily(3), coh, START, END, seed=2, behaviour=FATIGUE)
    assert (res.responses["kind"] == "unsubscribed").any()
    ref = reference(_daily(3), coh, START, END, seed=2, responses=res.responses)
    assert trace_rows(ref.trace) == trace_rows(res.trace)
