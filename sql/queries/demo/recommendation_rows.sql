-- grain: one row: the published recommendations and the users they are for
select count(*) as n, count(distinct user_id) as users from rec_user_items
