{#- The six funnel rates, defined once for mart_daily_funnel (per date) and mart_period_summary
    (per window). Each is null when its denominator is 0. conversion_rate_sessions counts the
    viewing sessions that also purchased, so it is a share of viewing sessions (at most 1); a
    session that bought without viewing (that day, or in that window) is not in it. -#}
{% macro funnel_rates() -%}
        {{ safe_ratio('n_purchases', 'n_events') }} as conversion_rate_events,
        {{ safe_ratio('n_purchases', 'n_views') }} as conversion_rate_views,
        {{ safe_ratio('n_viewing_purchasing_sessions', 'n_viewing_sessions') }} as conversion_rate_sessions,
        {{ safe_ratio('n_abandoned_cart_sessions', 'n_carting_sessions') }} as cart_abandonment_rate,
        {{ safe_ratio('n_carts', 'n_views') }} as view_to_cart_rate,
        {{ safe_ratio('n_purchases', 'n_carts') }} as cart_to_purchase_rate
{%- endmacro %}

{#- The funnel columns both marts show, in order, after their keys. -#}
{% macro funnel_columns() -%}
        n_events,
        n_views,
        n_carts,
        n_removes,
        n_purchases,
        n_users,
        n_sessions,
        n_viewing_sessions,
        n_carting_sessions,
        n_purchasing_sessions,
        n_abandoned_cart_sessions,
        n_purchasing_users,
        cast(revenue as {{ float_type() }}) as revenue,
        {{ funnel_rates() }}
{%- endmacro %}

{#- Session counts of a set of session rows with flags has_view, has_cart, has_purchase, for
    one scope (prefix '' or 'reference_'). -#}
{% macro session_counts(prefix='') -%}
        count(*) as n_{{ prefix }}sessions,
        {{ count_where('has_' ~ prefix ~ 'view') }} as n_{{ prefix }}viewing_sessions,
        {{ count_where('has_' ~ prefix ~ 'cart') }} as n_{{ prefix }}carting_sessions,
        {{ count_where('has_' ~ prefix ~ 'purchase') }} as n_{{ prefix }}purchasing_sessions,
        {{ count_where('has_' ~ prefix ~ 'view and has_' ~ prefix ~ 'purchase') }} as n_{{ prefix }}viewing_purchasing_sessions,
        {{ count_where('has_' ~ prefix ~ 'cart and not has_' ~ prefix ~ 'purchase') }} as n_{{ prefix }}abandoned_cart_sessions
{%- endmacro %}
