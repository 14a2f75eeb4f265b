"""Room state backends: aggregate, time-bucketed counters, never a record per visitor."""
