"""Running rlvr on clusters: `rlvr submit` to Slurm and Ray Jobs, `rlvr jobs`, Ray token auth.

- `auth`:       Ray's token authentication for drivers and the Jobs client
- `submission`: what every submission shares: validate the overrides, fix an absolute run dir
- `ray_jobs`:   submit/list/status/logs/stop through Ray's Jobs API
- `slurm`:      render the sbatch script from the one template, sbatch/squeue/sacct/scancel
- `records`:    the local list of submitted jobs that `rlvr jobs` reads
"""
