"""Pure functions of reports and weight values: views, differences, memory, weight statistics and health."""
