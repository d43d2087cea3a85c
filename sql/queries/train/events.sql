-- grain: one row per user, product, event type and day in the window
-- types: a list of quoted event types, inlined by shopflow.train.load_events (each one of the
-- fixed EVENT_TYPES); the list stays literal so the lake reader can push it into the scan
select user_id, product_id, event_type, event_date, count(*) as n_events
from events
where event_date between @start_date and @end_date
  and event_type in ({types})
group by user_id, product_id, event_type, event_date
