"""Layout builders: functions that return Dash layout; their callbacks sit beside them."""
