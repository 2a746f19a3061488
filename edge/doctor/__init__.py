"""``edge doctor``: what this device offers, what edge will use, and the fix for each problem."""
