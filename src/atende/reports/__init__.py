"""Supervisor dashboard and reports (issue 9): reads of the counters the actions keep (actions.rollups).

period: the days asked for, in a time zone · filters: channel, connector, team, agent, tag and the
viewer's teams · stats: exact percentiles · summary · exports (CSV, streamed) · charts (server SVG) ·
dashboard.
"""
