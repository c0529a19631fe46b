"""Stock pylti1p3 served by Django, the baseline of ``bench/launch.py``'s HTTP run (not part of the tool)."""
