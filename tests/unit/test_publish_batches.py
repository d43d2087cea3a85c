"""Publishing streams users in batches: its memory is bounded by a batch, not by the number of
users (the real month's 3M active users x 15 in one pandas frame ran out of memory)."""

from __future__ import annotations

import datetime as dt
import inspect
import math

import numpy as np
import pandas as pd
import pytest
from test_recommend_planted import planted_events

from shopflow.publish import build_tables, write_recommendations
from shopflow.queries import query_sql

RUN_DATE = dt.date(2019, 11, 10)
K = 15
BATCH = 7


def _doubled(events: pd.DataFrame) -> pd.DataFrame:
    """The planted shop with every user twice (the copy's ids offset by 1,000,000)."""
    copy = events.assign(user_id=events["user_id"] + 1_000_000, user_session="c" + events["user_session"])
    return pd.concat([events, copy], ignore_index=True)


@pytest.fixture(scope="module")
def als():
    from shopflow.train import fit_als

    params = {"window_days": 10, "test_days": 3, "factors": 4, "iterations": 5, "alpha": 10.0, "seed": 3}
    return fit_als(planted_events(), RUN_DATE, params)["trained"]


class SpyWarehouse:
    """Wraps a warehouse; records how ``rec_user_items`` reached it."""

    def __init__(self, wh):
        self.wh, self.frames_were_lazy, self.batch_rows = wh, None, []

    def __getattr__(self, name):
        return getattr(self.wh, name)

    def write_batches(self, name, frames, replace_where=None):
        if name == "rec_user_items":
            self.frames_were_lazy = inspect.isgenerator(frames)

            def counted():
                for frame in frames:
                    self.batch_rows.append(len(frame))
                    yield frame

            return self.wh.write_batches(name, counted(), replace_where)
        return self.wh.write_batches(name, frames, replace_where)


def _publish(duck, events, als, batch_users):
    wh, _ = duck
    wh.write_table("events", events)
    spy = SpyWarehouse(wh)
    result = write_recommendations(spy, RUN_DATE, als=als, als_version="2", batch_users=batch_users, k=K)
    return wh, spy, result


def test_publish_writes_users_in_batches_of_bounded_size(duck, als):
    events = planted_events()
    n_users = events["user_id"].nunique()
    assert n_users == 120
    wh, spy, result = _publish(duck, events, als, BATCH)
    assert spy.frames_were_lazy is True  # a generator, not a list of every batch
    assert result["batches"] == len(spy.batch_rows) == math.ceil(120 / BATCH) == 18
    assert max(spy.batch_rows) <= BATCH * K == 105
    assert sum(spy.batch_rows) == result["rec_user_items"] == 120 * K
    assert result["active_users"] == 120


def test_batch_size_does_not_grow_with_the_number_of_users(duck, als):
    _, small, first = _publish(duck, planted_events(), als, BATCH)
    _, large, second = _publish(duck, _doubled(planted_events()), als, BATCH)
    assert second["active_users"] == 2 * first["active_users"] == 240
    assert second["batches"] == math.ceil(240 / BATCH) == 35
    assert max(large.batch_rows) == max(small.batch_rows) == BATCH * K


def test_batched_rows_equal_the_one_frame_build(duck, als):
    """The same rows as building every user in one frame (the path publish took before)."""
    wh, _, _ = _publish(duck, planted_events(), als, BATCH)
    published = wh.query("select * from rec_user_items where run_date = @d", {"d": RUN_DATE})
    days = {"start_date": RUN_DATE - dt.timedelta(days=29), "end_date": RUN_DATE}
    whole = build_tables(wh.query(query_sql("publish/active_users"), days),
                         wh.query(query_sql("publish/purchases"), days),
                         wh.query(query_sql("publish/item_sales"), days), RUN_DATE, als=als, als_version="2", k=K)["rec_user_items"]
    cols = ["user_id", "rank", "product_id", "source", "model_version"]
    left = published.sort_values(["user_id", "rank"]).reset_index(drop=True)
    right = whole.sort_values(["user_id", "rank"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(left[cols], right[cols], check_dtype=False)
    np.testing.assert_allclose(left["score"], right["score"])
    # every user got k distinct items, none of them one they bought in the window
    assert (left.groupby("user_id")["product_id"].nunique() == K).all()
    bought = planted_events().query("event_type == 'purchase'")[["user_id", "product_id"]].drop_duplicates()
    assert left.merge(bought, on=["user_id", "product_id"]).empty


def test_a_rerun_replaces_the_date_instead_of_appending(duck, als):
    wh, _, _ = _publish(duck, planted_events(), als, BATCH)
    write_recommendations(wh, RUN_DATE, als=als, als_version="2", batch_users=50, k=K)
    assert int(wh.query("select count(*) as n from rec_user_items").iloc[0]["n"]) == 120 * K


def test_a_failing_batch_leaves_the_previous_rows(duck):
    """write_batches is one transaction: a failure in the third batch keeps what was there."""
    wh, _ = duck
    day = dt.date(2019, 11, 30)
    before = pd.DataFrame({"user_id": [1, 2], "run_date": [day, day]})
    wh.write_table("rec_user_items", before, replace_where={"run_date": day})

    def frames():
        yield pd.DataFrame({"user_id": [10], "run_date": [day]})
        yield pd.DataFrame({"user_id": [11], "run_date": [day]})
        raise RuntimeError("batch 3 failed")

    with pytest.raises(RuntimeError, match="batch 3 failed"):
        wh.write_batches("rec_user_items", frames(), replace_where={"run_date": day})
    assert sorted(wh.read_table("rec_user_items")["user_id"]) == [1, 2]
    assert wh.write_batches("rec_user_items", frames_ok(day), replace_where={"run_date": day}) == 3
    assert sorted(wh.read_table("rec_user_items")["user_id"]) == [10, 11, 12]
    assert wh.write_batches("rec_user_items", iter(()), replace_where={"run_date": day}) == 0
    assert wh.read_table("rec_user_items").empty


def frames_ok(day):
    yield pd.DataFrame({"user_id": [10, 11], "run_date": [day, day]})
    yield pd.DataFrame({"user_id": [12], "run_date": [day]})


def test_query_batches_streams_a_result_in_frames_of_at_most_n_rows(duck):
    wh, _ = duck
    wh.write_table("numbers", pd.DataFrame({"n": np.arange(10, dtype=np.int64)}))
    frames = list(wh.query_batches("select n from numbers where n >= @lo", {"lo": 3}, batch_rows=3))
    assert [len(f) for f in frames] == [3, 3, 1]
    assert sorted(pd.concat(frames)["n"]) == [3, 4, 5, 6, 7, 8, 9]
