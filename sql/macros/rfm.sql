{#- Equal-width bin (1..5) of `value` in [lo, hi]: bin k covers [lo + (k-1)w, lo + kw) with
    w = (hi - lo) / 5, the last bin also takes hi, a value on an inner edge goes to the upper bin,
    and lo = hi puts everyone in bin 1. Compared as 5 * (value - lo) >= k * (hi - lo): no
    division, so integers and NUMERIC stay exact (in floating point 5 * (1.30 - 1.10) / 1.00 is
    0.9999999999999998 and 1.30 fell into bin 1 of [1.10, 2.10]). -#}
{% macro equal_width_bin(value, lo, hi) -%}
        case
            when {{ hi }} = {{ lo }} then 1
            when 5 * ({{ value }} - {{ lo }}) >= 4 * ({{ hi }} - {{ lo }}) then 5
            when 5 * ({{ value }} - {{ lo }}) >= 3 * ({{ hi }} - {{ lo }}) then 4
            when 5 * ({{ value }} - {{ lo }}) >= 2 * ({{ hi }} - {{ lo }}) then 3
            when 5 * ({{ value }} - {{ lo }}) >= 1 * ({{ hi }} - {{ lo }}) then 2
            else 1
        end
{%- endmacro %}
