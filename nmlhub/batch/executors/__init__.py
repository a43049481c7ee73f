"""Where a batch's runs run: local processes, a pool of MPI ranks, SLURM or PBS jobs.

Every executor runs each run as ``python -m nmlhub batch run-one RUN_DIR``, which records the run's
state in its folder; the executor only has to make sure no run stays unfinished when its process
is gone.
"""
